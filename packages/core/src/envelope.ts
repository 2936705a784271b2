/**
 * The CloudEvents 1.0 envelope in JSON structured mode, with sluice's extension attributes.
 * https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md
 */
import { escapeToken } from './names.js';

export interface CloudEvent<D = unknown> {
  readonly specversion: '1.0';
  /** Deterministic event id; also the `Nats-Msg-Id` and the `webhook-id`. */
  readonly id: string;
  /** URI-reference naming the producer, e.g. `/sluice/mysql/shop`. */
  readonly source: string;
  /** Dot-separated type, e.g. `mysql.shop.orders.insert`. */
  readonly type: string;
  /** For CDC, the row's primary key (values joined with `,`); the partition key by default. */
  readonly subject?: string;
  /** RFC 3339 commit time. */
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly data: D;
  /** Extension: source position of a CDC event (GTID or `file:pos`). */
  readonly sluiceposition?: string;
  /** Extension: transaction id (GTID or `file:pos` of its start). */
  readonly sluicetxid?: string;
  /** Extension: 0-based index of the row in its transaction. */
  readonly sluicetxindex?: number;
  /**
   * Extension: `true` on the last event of its transaction, absent on the others
   * (docs/decisions/0010-transaction-metadata.md).
   */
  readonly sluicetxlast?: boolean;
  /** Extension, on the last event of a transaction only: how many row events the source published for it. */
  readonly sluicetxcount?: number;
  /** Extension: the backfill run that read the row (`read` events only; docs/backfill.md). */
  readonly sluicebackfill?: string;
}

/**
 * A CloudEvent received by the HTTP API (docs/api.md): the producer's attributes as sent, with `id`
 * replaced by sluice's deterministic id. Unlike a CDC event, `time` and `data` are optional, the data
 * may be of any media type (`data_base64` for bytes), and extension attributes are the producer's.
 */
export interface IngestCloudEvent {
  readonly specversion: '1.0';
  /** Deterministic event id (`ingestEventId`); the producer's own id is kept in `sluiceproducerid`. */
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject?: string;
  readonly time?: string;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  /** The data as JSON, when it is JSON (or a string for `text/*`). */
  readonly data?: unknown;
  /** The data as base64, when it is bytes of another media type. */
  readonly data_base64?: string;
  /** Extension: the `id` the producer gave the event. */
  readonly sluiceproducerid?: string;
  /** Other extension attributes (names `[a-z0-9]{1,20}`). */
  readonly [extension: string]: unknown;
}

/**
 * The operation of a row change. `read` is a row as it existed when a backfill read it, not a change
 * (docs/backfill.md).
 */
export type RowOperation = 'insert' | 'update' | 'delete' | 'read';

/** `data` of a CDC event. Values follow docs/events.md (BIGINT/DECIMAL strings, binary base64, …). */
export interface RowChange {
  readonly op: RowOperation;
  readonly database: string;
  readonly table: string;
  /** Column values before the change; `null` for inserts and reads. */
  readonly before: Record<string, unknown> | null;
  /** Column values after the change; `null` for deletes. */
  readonly after: Record<string, unknown> | null;
  /** Names of the columns whose value differs between `before` and `after` (all columns for insert/delete). */
  readonly changed: string[];
  /** Names of the primary-key columns, when the table has one. */
  readonly primaryKey: string[];
}

/** Inputs of {@link cdcEvent}. */
export interface CdcEventInput {
  readonly id: string;
  readonly sourceId: string;
  readonly change: RowChange;
  /** Commit time, milliseconds since the epoch. */
  readonly commitTimeMs: number;
  readonly position: string;
  readonly transaction: string;
  readonly rowIndex: number;
  /** Partition/subject key: the primary key values joined with ','. */
  readonly key: string;
  /**
   * Set on the transaction's last event only: the number of row events of its transaction. Adds
   * `sluicetxlast: true` and `sluicetxcount`.
   */
  readonly transactionCount?: number;
}

// Database and table names may hold any character (quoted identifiers), the dot included: joined as
// they are, `a.b` + `c` and `a` + `b.c` would give one type, and one subscription would get both
// tables' rows. Each name becomes one type token instead, escaped as a subject token is (`.`, `*`,
// `>`, whitespace, control characters and `%` itself as `%XX` per UTF-8 byte): reversible, so no two
// names share a token (docs/events.md, "Names in event types").

/**
 * The CloudEvent type of a row change: `mysql.<database>.<table>.<op>`, each name escaped to one
 * token (`order items` → `order%20items`).
 */
export function cdcEventType(change: Pick<RowChange, 'database' | 'table' | 'op'>): string {
  return `mysql.${escapeToken(change.database)}.${escapeToken(change.table)}.${change.op}`;
}

/** The CloudEvent type of a DDL event: `mysql.<database>.ddl`, the name escaped as in {@link cdcEventType}. */
export function ddlEventType(database: string): string {
  return `mysql.${escapeToken(database)}.ddl`;
}

/** Builds the CloudEvent for one row change. */
export function cdcEvent(input: CdcEventInput): CloudEvent<RowChange> {
  return {
    specversion: '1.0',
    id: input.id,
    source: `/sluice/mysql/${input.sourceId}`,
    type: cdcEventType(input.change),
    subject: input.key,
    time: new Date(input.commitTimeMs).toISOString(),
    datacontenttype: 'application/json',
    data: input.change,
    sluiceposition: input.position,
    sluicetxid: input.transaction,
    sluicetxindex: input.rowIndex,
    ...(input.transactionCount !== undefined
      ? { sluicetxlast: true, sluicetxcount: input.transactionCount }
      : {}),
  };
}

/** Serialises a value as UTF-8 JSON bytes: the one encoding of every JSON message sluice stores. */
export function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Parses UTF-8 JSON bytes (a view is read in place, not copied). Throws `SyntaxError` on malformed input. */
export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as T;
}

/** Serialises an event for the stream and for delivery bodies (one encoding, no re-encode on the way). */
export function encodeEvent(event: CloudEvent | IngestCloudEvent): Uint8Array {
  return encodeJson(event);
}

/** Parses an event from its stored bytes. Throws `SyntaxError` on malformed input. */
export function decodeEvent(bytes: Uint8Array): CloudEvent {
  return decodeJson<CloudEvent>(bytes);
}
