import { isUtf8 } from 'node:buffer';
import { SluiceError } from '@sluice/core';

// Reads S3 / MinIO bucket-notification payloads (docs/object-store.md; shapes recorded in
// test/fixtures/s3/). Both stores send `{"Records":[…]}`; MinIO adds the top-level `EventName` and
// `Key` (bucket/decoded key) and its records carry `eventSource: "minio:s3"`, `contentType`,
// `userMetadata` and `source`. Only the records are read: they hold everything the events need.

/** One notification record, checked and normalised. */
export interface ObjectRecord {
  /** Event name without MinIO's `s3:` prefix: `ObjectCreated:Put`, `ObjectRemoved:Delete`, … */
  readonly eventName: string;
  /** RFC 3339 time the store finished the request, as sent. */
  readonly eventTime: string;
  readonly bucket: string;
  /** The object key, URL-decoded (`+` is a space, as in S3's form encoding). */
  readonly key: string;
  /** Bytes; `null` when the record has none (removals). */
  readonly size: number | null;
  /** The ETag without quotes; `null` when the record has none (removals). */
  readonly etag: string | null;
  /** `null` for an unversioned bucket. */
  readonly versionId: string | null;
  /** Orders the events of one key (compare as hex of equal length); `null` when the store sent none. */
  readonly sequencer: string | null;
  /** `awsRegion`, when not empty. */
  readonly region?: string;
  /** MinIO: the object's content type. */
  readonly contentType?: string;
  /** MinIO: the object's user metadata (and content type), when not empty. */
  readonly userMetadata?: Readonly<Record<string, string>>;
}

/** A payload read by {@link readNotification}. */
export type Notification =
  /** The `s3:TestEvent` message S3 sends when a notification configuration is saved. */
  | { readonly test: true; readonly records: readonly [] }
  | { readonly test: false; readonly records: readonly ObjectRecord[] };

/** Bucket names as S3 (including legacy us-east-1 names) and MinIO allow them. */
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/i;

function invalid(message: string, details?: Record<string, unknown>): SluiceError {
  return new SluiceError('SLUICE_NOTIFICATION_INVALID', message, details ? { details } : {});
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Parses the bytes of a notification as NATS delivers them (UTF-8 JSON), then {@link readNotification}.
 * @throws SluiceError `SLUICE_NOTIFICATION_INVALID`
 */
export function parseNotification(bytes: Uint8Array): Notification {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!isUtf8(buf)) throw invalid('the notification is not valid UTF-8');
  let body: unknown;
  try {
    body = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw invalid(`the notification is not valid JSON: ${(err as Error).message}`);
  }
  return readNotification(body);
}

/**
 * Checks a parsed notification body and normalises its records; all or nothing.
 * @throws SluiceError `SLUICE_NOTIFICATION_INVALID` naming the first problem (`details.record`).
 */
export function readNotification(body: unknown): Notification {
  if (!isObject(body)) throw invalid('a notification is a JSON object with a Records array');
  if (!Object.hasOwn(body, 'Records') && body.Event === 's3:TestEvent') return { test: true, records: [] };
  const records = body.Records;
  if (!Array.isArray(records)) throw invalid('the notification has no Records array');
  return { test: false, records: records.map((r: unknown, i) => readRecord(r, i)) };
}

function readRecord(r: unknown, index: number): ObjectRecord {
  const fail = (what: string): SluiceError => invalid(`Records[${index}]: ${what}`, { record: index });
  if (!isObject(r)) throw fail('not an object');
  const eventName = r.eventName;
  if (typeof eventName !== 'string' || eventName === '') throw fail('eventName is missing');
  const eventTime = r.eventTime;
  if (typeof eventTime !== 'string' || !RFC3339.test(eventTime) || Number.isNaN(Date.parse(eventTime)))
    throw fail('eventTime is missing or not RFC 3339');
  const s3 = isObject(r.s3) ? r.s3 : undefined;
  const bucket = isObject(s3?.bucket) ? s3.bucket.name : undefined;
  if (typeof bucket !== 'string' || !BUCKET.test(bucket))
    throw fail('s3.bucket.name is missing or not a bucket name');
  const object = isObject(s3?.object) ? s3.object : undefined;
  if (object === undefined || typeof object.key !== 'string' || object.key === '')
    throw fail('s3.object.key is missing');
  const key = decodeKey(object.key, fail);
  const userMetadata = metadata(object.userMetadata, fail);
  return {
    eventName: eventName.startsWith('s3:') ? eventName.slice(3) : eventName,
    eventTime,
    bucket,
    key,
    size: size(object.size, fail),
    etag: optionalString(object.eTag)?.replace(/^"(.*)"$/, '$1') ?? null,
    versionId: optionalString(object.versionId) ?? null,
    sequencer: optionalString(object.sequencer) ?? null,
    ...(optionalString(r.awsRegion) !== undefined ? { region: r.awsRegion as string } : {}),
    ...(optionalString(object.contentType) !== undefined
      ? { contentType: object.contentType as string }
      : {}),
    ...(userMetadata !== undefined ? { userMetadata } : {}),
  };
}

function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

// S3 form-encodes keys ("red flower.jpg" arrives as "red+flower.jpg", a literal '+' as "%2B"), and
// MinIO applies Go's url.QueryEscape, which does the same and also escapes '/'.
function decodeKey(encoded: string, fail: (what: string) => SluiceError): string {
  try {
    return decodeURIComponent(encoded.replaceAll('+', ' '));
  } catch {
    throw fail('s3.object.key is not valid URL encoding of UTF-8');
  }
}

// S3 sends a number; Ceph and some S3-compatible stores send a string of digits.
function size(v: unknown, fail: (what: string) => SluiceError): number | null {
  if (v === undefined || v === null) return null;
  const n = typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw fail('s3.object.size is not a byte count');
  return n;
}

function metadata(
  v: unknown,
  fail: (what: string) => SluiceError,
): Readonly<Record<string, string>> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw fail('s3.object.userMetadata is not an object');
  const entries = Object.entries(v);
  if (entries.some(([, value]) => typeof value !== 'string'))
    throw fail('s3.object.userMetadata has a value that is not a string');
  // fromEntries defines each key as an own property, so a "__proto__" key stays data.
  return entries.length > 0 ? (Object.fromEntries(entries) as Record<string, string>) : undefined;
}
