import { createHash } from 'node:crypto';
import { cdcEventType, type CloudEvent, type RowChange } from '@sluice/core';
import type { TableShape } from '../rows/row-change.js';

/** What identifies one read of one row. */
export interface ReadIdentity {
  readonly sourceId: string;
  /** The backfill run (stored in its progress record, the same across reruns). */
  readonly runId: string;
  readonly database: string;
  readonly table: string;
  /** The row's key: primary-key values joined with `,` (the event subject). */
  readonly key: string;
  /** The row's event values (`data.after`). */
  readonly after: Readonly<Record<string, unknown>>;
}

/**
 * The deterministic id of a `read` event:
 * `"evt_" + hex(sha256("read" ␀ source ␀ run ␀ database ␀ table ␀ key ␀ sha256(values) ␀))[0:32]`.
 *
 * The same row read again with the same values (a chunk re-published after a crash) gets the same id
 * and collapses by Msg-Id; a row read again after it changed gets a new id, so that the newer read is
 * stored rather than dropped as a duplicate of the older one (docs/decisions/0011-backfill.md).
 */
export function readEventId(r: ReadIdentity): string {
  const values = createHash('sha256').update(JSON.stringify(r.after)).digest('hex');
  const h = createHash('sha256');
  for (const part of ['read', r.sourceId, r.runId, r.database, r.table, r.key, values])
    h.update(part).update('\0');
  return `evt_${h.digest('hex').slice(0, 32)}`;
}

/** Inputs of {@link readEvent}. */
export interface ReadEventInput {
  readonly sourceId: string;
  readonly runId: string;
  readonly shape: TableShape;
  readonly after: Record<string, unknown>;
  readonly key: string;
  /** When the chunk was read, ms since the epoch. */
  readonly readAtMs: number;
  /** The server's GTID position while the row was locked, when known. */
  readonly position: string | undefined;
}

/**
 * The CloudEvent of one backfilled row: type `mysql.<db>.<table>.read`, `before: null`, `after` the row,
 * `changed` every column (as for an insert), subject and partition key the primary key — so a row's
 * read and its live changes share a partition.
 */
export function readEvent(input: ReadEventInput): CloudEvent<RowChange> {
  const { shape } = input;
  const change: RowChange = {
    op: 'read',
    database: shape.database,
    table: shape.table,
    before: null,
    after: input.after,
    changed: shape.columns.map((c) => c.name),
    primaryKey: [...shape.primaryKey],
  };
  return {
    specversion: '1.0',
    id: readEventId({ ...input, database: shape.database, table: shape.table }),
    source: `/sluice/mysql/${input.sourceId}`,
    type: cdcEventType(change),
    subject: input.key,
    time: new Date(input.readAtMs).toISOString(),
    datacontenttype: 'application/json',
    data: change,
    ...(input.position ? { sluiceposition: input.position } : {}),
    sluicebackfill: input.runId,
  };
}
