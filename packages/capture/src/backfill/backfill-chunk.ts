import type { QueryOptions } from 'mysql2';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { SluiceError } from '@sluice/core';
import { chunkQuery, toKeyValue, type KeyValue } from './backfill-query.js';
import type { BackfillTable } from './backfill-tables.js';
import { ColumnType } from '../mysql/row-values.js';
import type { RawRow } from '../rows/row-change.js';

/** One chunk read under share locks; the locks hold until {@link ChunkReader.release}. */
export interface Chunk {
  /** Raw column values by column name, as capture's decoder would hand them to `normalizeRow`. */
  readonly rows: readonly RawRow[];
  /** Primary key of each row, for the progress record. */
  readonly keys: readonly (readonly KeyValue[])[];
  /** The server's GTID position read while the rows were locked; `undefined` when it has none. */
  readonly position: string | undefined;
}

/** Options of {@link ChunkReader}. */
export interface ChunkReaderOptions {
  /** A connection in READ COMMITTED with `time_zone = '+00:00'` (see `openBackfillConnection`). */
  readonly conn: Connection;
  readonly isMariaDb: boolean;
  /** Largest chunk, in rows. */
  readonly maxRows: number;
  /** Lock waits (of `innodb_lock_wait_timeout` each) a one-row chunk may time out before giving up. */
  readonly maxLockWaits: number;
}

// 1205 lock wait timeout (also MariaDB's NOWAIT), 3572 MySQL's NOWAIT, 1213 deadlock: retryable.
const LOCK_ERRNOS = new Set([1205, 3572, 1213]);

/**
 * Reads chunks of one table in primary-key order, each in its own transaction with the rows
 * share-locked. A chunk that meets a row another transaction holds is given up at once (NOWAIT) and
 * retried at half the size; once a single row is left the reader waits for it. Successful chunks grow
 * back to `maxRows`. See docs/decisions/0011-backfill.md for why the locks make the newest value last.
 */
export class ChunkReader {
  readonly #o: ChunkReaderOptions;
  #size: number;
  #open = false;
  /** Chunks given up because a row was locked (each retried smaller, or waited for). */
  lockConflicts = 0;

  constructor(o: ChunkReaderOptions) {
    this.#o = o;
    this.#size = o.maxRows;
  }

  /**
   * Reads the rows after `after` (from the start when `null`) and keeps them locked. An empty chunk
   * means the table is done; its transaction is already closed.
   * @throws SluiceError `SLUICE_BACKFILL_LOCKED` when one row stays locked through every wait.
   */
  async read(t: BackfillTable, after: readonly KeyValue[] | null): Promise<Chunk> {
    const { conn, isMariaDb } = this.#o;
    const typeCast = jsonAsText(t.jsonAliases);
    for (let waits = 0; ;) {
      const lock = this.#size > 1 ? 'nowait' : 'wait';
      const q = chunkQuery(t, after, this.#size, lock, isMariaDb);
      await conn.query('START TRANSACTION');
      this.#open = true;
      let rows: RowDataPacket[];
      try {
        [rows] = await conn.query<RowDataPacket[]>({ sql: q.sql, typeCast }, [...q.params]);
      } catch (err) {
        await this.abort();
        if (!LOCK_ERRNOS.has((err as { errno?: number }).errno ?? 0)) throw err;
        this.lockConflicts++;
        if (lock === 'nowait') this.#size = Math.max(1, Math.floor(this.#size / 2));
        else if (++waits >= this.#o.maxLockWaits) throw locked(t, after, waits, err);
        continue;
      }
      if (rows.length === 0) {
        await this.release();
        return { rows: [], keys: [], position: undefined };
      }
      const [[pos]] = await conn.query<RowDataPacket[]>(
        isMariaDb ? 'SELECT @@gtid_binlog_pos AS pos' : 'SELECT @@global.gtid_executed AS pos',
      );
      const position = String(pos?.pos ?? '').replace(/\s+/g, '') || undefined;
      return { rows: rows.map((r) => rawRow(t, r)), keys: rows.map((r) => keyOf(t, r)), position };
    }
  }

  /** Ends the chunk's transaction, releasing its locks; the next chunk may be larger again. */
  async release(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    await this.#o.conn.query('COMMIT');
    this.#size = Math.min(this.#o.maxRows, this.#size * 2);
  }

  /** Rolls the chunk's transaction back (nothing was written; this only releases the locks). */
  async abort(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    await this.#o.conn.query('ROLLBACK');
  }
}

function rawRow(t: BackfillTable, r: RowDataPacket): RawRow {
  const out: Record<string, unknown> = {};
  t.shape.columns.forEach((c, i) => {
    const v: unknown = r[`c${i}`];
    // Selected as a double (see selectExpression); the binlog holds the float32 itself.
    out[c.name] = c.type === ColumnType.FLOAT && v !== null ? Math.fround(Number(v)) : v;
  });
  return out;
}

function keyOf(t: BackfillTable, r: RowDataPacket): KeyValue[] {
  return t.key.map((_, i) => toKeyValue(r[`k${i}`]));
}

// mysql2 parses JSON columns itself (losing integers beyond 2^53); capture's parser keeps them exact.
function jsonAsText(aliases: ReadonlySet<string>): QueryOptions['typeCast'] {
  return (field, next) => (aliases.has(field.name) ? field.string('utf8') : next());
}

function locked(
  t: BackfillTable,
  after: readonly KeyValue[] | null,
  waits: number,
  cause: unknown,
): SluiceError {
  return new SluiceError(
    'SLUICE_BACKFILL_LOCKED',
    `${t.database}.${t.table}: the row after key ${JSON.stringify(after)} stayed locked by another transaction through ${waits} lock waits`,
    { cause, details: { database: t.database, table: t.table, after } },
  );
}
