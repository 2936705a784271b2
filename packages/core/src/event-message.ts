import { encodeEvent, type CloudEvent, type IngestCloudEvent } from './envelope.js';
import { eventSubject, type NameSpace } from './names.js';
import { partitionOf } from './partition.js';

// The events stream's message, written and read only through this module:
// - subject `<prefix>.events.<partition>.<type tokens…>`, the partition the hash of the event's key;
// - `Nats-Msg-Id` the event id, so that a second publish of one event collapses in the duplicate window;
// - `Sluice-Source` the configured source that produced it (absent on backfill reads, see eventAddress);
// - body the CloudEvent as JSON (envelope.ts), or its oversize reference (docs/decisions/0012-oversize-and-retention.md).

/**
 * Headers every event message carries besides `Nats-Msg-Id` (the event id). Written by
 * {@link eventAddress}; the reconcile scan on resume reads them without the payload through
 * {@link readEventHeaders} (docs/decisions/0009-exact-resume.md).
 */
export const EventHeaders = {
  /** The configured id of the source that captured the event. */
  source: 'Sluice-Source',
} as const;

const MSG_ID = 'Nats-Msg-Id';

/** Where and under which id one event is published: its message without the body. */
export interface EventAddress {
  /** `sluice.events.<partition>.<type tokens…>`. */
  readonly subject: string;
  /** The event id: the `Nats-Msg-Id`, so that a second publish of the same event is dropped. */
  readonly msgId: string;
  /** The headers besides `Nats-Msg-Id` ({@link EventHeaders}). */
  readonly headers: Readonly<Record<string, string>>;
}

/** One event ready to publish to the events stream. */
export interface EventMessage extends EventAddress {
  /** The CloudEvent as UTF-8 JSON. */
  readonly data: Uint8Array;
}

/** Where events go: the namespace and the deployment's fixed partition count. */
export interface EventSpace extends NameSpace {
  readonly partitions: number;
}

/**
 * The address of one event from any producer: the subject's partition is the hash of `key`
 * (docs/decisions/0002-partitioning.md), the `Sluice-Source` header names `sourceId`. `null` leaves the header out, so that
 * the reconcile scan of a binlog source does not count the event among the ones it published (backfill
 * reads: their ids never recur in the binlog, decision 0011).
 */
export function eventAddress(
  space: EventSpace,
  event: Pick<CloudEvent, 'id' | 'type'>,
  key: string,
  sourceId: string | null,
): EventAddress {
  return {
    subject: eventSubject(space, partitionOf(key, space.partitions), event.type),
    msgId: event.id,
    headers: sourceId === null ? NO_HEADERS : sourceHeaders(sourceId),
  };
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
// One headers object per source, not one per event: capture addresses every row it publishes.
const SOURCE_HEADERS = new Map<string, Readonly<Record<string, string>>>();

function sourceHeaders(sourceId: string): Readonly<Record<string, string>> {
  let headers = SOURCE_HEADERS.get(sourceId);
  if (headers === undefined) {
    headers = Object.freeze({ [EventHeaders.source]: sourceId });
    SOURCE_HEADERS.set(sourceId, headers);
  }
  return headers;
}

/** Builds the whole message of one event: {@link eventAddress} and the encoded body. */
export function eventMessage(
  space: EventSpace,
  event: CloudEvent | IngestCloudEvent,
  key: string,
  sourceId: string | null,
): EventMessage {
  return { ...eventAddress(space, event, key, sourceId), data: encodeEvent(event) };
}

/** The part of a message's headers a reader needs: NATS `MsgHdrs` fits, absent names read as `''`. */
export interface HeaderReader {
  get(name: string): string;
}

/** What the headers of one stored event message say about it. */
export interface StoredEventHeaders {
  /** The event id, `undefined` when the message has none. */
  readonly id: string | undefined;
  /** The producing source, `undefined` when the message names none (backfill reads, older versions). */
  readonly sourceId: string | undefined;
}

/** Reads back what {@link eventAddress} wrote into the headers (a headers-only read needs no body). */
export function readEventHeaders(h: HeaderReader | undefined): StoredEventHeaders {
  return {
    id: h?.get(MSG_ID) || undefined,
    sourceId: h?.get(EventHeaders.source) || undefined,
  };
}
