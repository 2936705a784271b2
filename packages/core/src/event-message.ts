import { encodeEvent, type CloudEvent, type IngestCloudEvent } from './envelope.js';
import { EventHeaders, eventSubject, type NameSpace } from './names.js';
import { partitionOf } from './partition.js';

/** One event ready to publish to the events stream. */
export interface EventMessage {
  /** `sluice.events.<partition>.<type tokens…>`. */
  readonly subject: string;
  /** The event id: the `Nats-Msg-Id`, so that a second publish of the same event is dropped. */
  readonly msgId: string;
  readonly headers: Record<string, string>;
  readonly data: Uint8Array;
}

/** Where events go: the namespace and the deployment's fixed partition count. */
export interface EventSpace extends NameSpace {
  readonly partitions: number;
}

/**
 * Builds the message of one event from any source: the subject's partition is the hash of `key`
 * (docs/decisions/0002-partitioning.md), the `Sluice-Source` header names the configured source that
 * produced it.
 */
export function eventMessage(
  space: EventSpace,
  event: CloudEvent | IngestCloudEvent,
  key: string,
  sourceId: string,
): EventMessage {
  return {
    subject: eventSubject(space, partitionOf(key, space.partitions), event.type),
    msgId: event.id,
    headers: { [EventHeaders.source]: sourceId },
    data: encodeEvent(event),
  };
}
