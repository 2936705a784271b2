import {
  SluiceError,
  eventMessage,
  objectEventId,
  type CloudEvent,
  type EventMessage,
  type EventSpace,
} from '@sluice/core';
import type { Notification, ObjectRecord } from './notification-records.js';

/** The event types of object-store sources. */
export type ObjectEventType = 'object.created' | 'object.removed';

/** `data` of an `object.created` / `object.removed` event (docs/object-store.md). */
export interface ObjectEventData {
  readonly bucket: string;
  /** The decoded object key. */
  readonly key: string;
  /** Bytes; `null` for removals. */
  readonly size: number | null;
  readonly etag: string | null;
  readonly versionId: string | null;
  /** Orders the events of one key: compare as hex strings of equal length (left-pad with zeros). */
  readonly sequencer: string | null;
  /** The store's event name without the `s3:` prefix, e.g. `ObjectCreated:CompleteMultipartUpload`. */
  readonly eventName: string;
  readonly region?: string;
  readonly contentType?: string;
  readonly userMetadata?: Readonly<Record<string, string>>;
}

/** The parts of an s3 source's configuration the mapping needs. */
export interface ObjectSourceRef {
  readonly id: string;
  /** Buckets accepted; absent → every bucket. */
  readonly buckets?: readonly string[];
}

/** One event of a notification, with its partition key (`<bucket>/<key>`). */
export interface ObjectEvent {
  readonly event: CloudEvent<ObjectEventData>;
  readonly key: string;
}

/** The events of one notification. */
export interface ObjectEvents {
  readonly events: readonly ObjectEvent[];
  /** Records of other event names (restore, replication, lifecycle transition, …): no event. */
  readonly skipped: readonly string[];
  /** The notification was S3's `s3:TestEvent`. */
  readonly test: boolean;
}

/**
 * The type of a record's event name, or `undefined` for one that is skipped. Every
 * `ObjectCreated:*` is a creation (MinIO counts tagging, retention and legal-hold changes among them),
 * every `ObjectRemoved:*` a removal except MinIO's `ObjectRemoved:NoOP`, a delete of a key that did
 * not exist: nothing was removed.
 */
export function objectEventType(eventName: string): ObjectEventType | undefined {
  if (eventName.startsWith('ObjectCreated:')) return 'object.created';
  if (eventName.startsWith('ObjectRemoved:') && eventName !== 'ObjectRemoved:NoOP') return 'object.removed';
  return undefined;
}

/** The CloudEvent of one record of an object-store source. */
export function objectEvent(
  sourceId: string,
  type: ObjectEventType,
  r: ObjectRecord,
): CloudEvent<ObjectEventData> {
  const id = objectEventId({
    sourceId,
    bucket: r.bucket,
    key: r.key,
    versionId: r.versionId ?? '',
    // Without a sequencer the event time tells two notifications of one key and event apart; a
    // redelivery repeats the record as it was, time included.
    sequencer: r.sequencer ?? `time:${r.eventTime}`,
    eventName: r.eventName,
  });
  return {
    specversion: '1.0',
    id,
    source: `/sluice/s3/${sourceId}/${r.bucket}`,
    type,
    subject: r.key,
    time: r.eventTime,
    datacontenttype: 'application/json',
    data: {
      bucket: r.bucket,
      key: r.key,
      size: r.size,
      etag: r.etag,
      versionId: r.versionId,
      sequencer: r.sequencer,
      eventName: r.eventName,
      ...(r.region !== undefined ? { region: r.region } : {}),
      ...(r.contentType !== undefined ? { contentType: r.contentType } : {}),
      ...(r.userMetadata !== undefined ? { userMetadata: r.userMetadata } : {}),
    },
  };
}

/**
 * Turns a read notification into events, in record order; all or nothing.
 * @throws SluiceError `SLUICE_NOTIFICATION_BUCKET` when a record's bucket is not in `source.buckets`.
 */
export function objectEvents(source: ObjectSourceRef, notification: Notification): ObjectEvents {
  const events: ObjectEvent[] = [];
  const skipped: string[] = [];
  for (const r of notification.records) {
    if (source.buckets !== undefined && !source.buckets.includes(r.bucket))
      throw new SluiceError(
        'SLUICE_NOTIFICATION_BUCKET',
        `bucket "${r.bucket}" is not among the buckets of source ${source.id}`,
        { details: { sourceId: source.id, bucket: r.bucket } },
      );
    const type = objectEventType(r.eventName);
    if (type === undefined) skipped.push(r.eventName);
    else events.push({ event: objectEvent(source.id, type, r), key: `${r.bucket}/${r.key}` });
  }
  return { events, skipped, test: notification.test };
}

/** The stream messages of {@link objectEvents}' events. */
export function objectEventMessages(
  space: EventSpace,
  sourceId: string,
  events: readonly ObjectEvent[],
): EventMessage[] {
  return events.map((e) => eventMessage(space, e.event, e.key, sourceId));
}
