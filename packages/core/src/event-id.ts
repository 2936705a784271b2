import { createHash } from 'node:crypto';

/**
 * Where a CDC row change sits in its source: enough to name it uniquely and stably.
 * Re-reading the same binlog yields the same position, hence the same id.
 */
export interface CdcPosition {
  /** The configured source id. */
  readonly sourceId: string;
  /**
   * The transaction's identity: its GTID (`0-1-42` on MariaDB, `uuid:42` on MySQL) when known,
   * otherwise `file:pos` of the event that began the transaction.
   */
  readonly transaction: string;
  /** 0-based index of the row within its transaction, counting every row of every table. */
  readonly rowIndex: number;
}

function digestId(parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  // 128 bits, hex: collision-free in practice and short enough for a header and a Nats-Msg-Id.
  return `evt_${h.digest('hex').slice(0, 32)}`;
}

/** The deterministic id of a CDC event (docs/decisions/0001-event-identity.md). */
export function cdcEventId(pos: CdcPosition): string {
  return digestId(['cdc', pos.sourceId, pos.transaction, String(pos.rowIndex)]);
}

/** The deterministic id of an ingested event, from the producer's source and idempotency key. */
export function ingestEventId(source: string, idempotencyKey: string): string {
  return digestId(['ingest', source, idempotencyKey]);
}

/** What names one object-store notification record: the same record delivered twice has the same. */
export interface ObjectNotificationRef {
  /** The configured source id. */
  readonly sourceId: string;
  readonly bucket: string;
  /** The decoded object key. */
  readonly key: string;
  /** The object version, `''` for an unversioned bucket. */
  readonly versionId: string;
  /** The record's `sequencer` (orders the events of one key); `''` when the store sent none. */
  readonly sequencer: string;
  /** The event name without the `s3:` prefix MinIO adds, e.g. `ObjectCreated:Put`. */
  readonly eventName: string;
}

/**
 * The deterministic id of an object-store event: S3 and MinIO deliver notifications at least once,
 * and a redelivered record names the same object, version, sequencer and event, hence the same id.
 */
export function objectEventId(ref: ObjectNotificationRef): string {
  // JSON, not NUL-joined parts: an object key may contain any character, NUL included.
  const parts = [ref.sourceId, ref.bucket, ref.key, ref.versionId, ref.sequencer, ref.eventName];
  return digestId(['object', JSON.stringify(parts)]);
}

/**
 * The deterministic id of an operational event (`sluice.endpoint.disabled`, …): the same transition
 * reported by several deliverer processes gets one id, so the stream stores it once.
 * @param stamp what makes this transition distinct, e.g. the ms timestamp the unhealthy stretch began.
 */
export function operationalEventId(kind: string, endpointId: string, stamp: string): string {
  return digestId(['op', kind, endpointId, stamp]);
}
