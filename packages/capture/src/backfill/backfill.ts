import { randomBytes } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import {
  AckWindowPublisher,
  SluiceError,
  eventMessage,
  type CaptureConfig,
  type Logger,
  type NatsConfig,
  type MysqlSourceConfig,
} from '@sluice/core';
import { ChunkReader, type Chunk } from './backfill-chunk.js';
import { readEvent } from './backfill-event.js';
import {
  ProgressStore,
  newRun,
  resumableRun,
  withTable,
  type BackfillRun,
  type TableProgress,
} from './backfill-progress.js';
import { capturedTables, describeTables, type BackfillTable, type TableRef } from './backfill-tables.js';
import { loadCheckpoint } from '../resume/checkpoint-store.js';
import { mysqlOptions, redactUrl } from '../mysql/mysql-url.js';
import { normalizeRow, rowKey } from '../rows/row-change.js';
import { tableFilter } from '../tables/schema-filter.js';
import { checkConstraintLookup } from '../tables/table-catalog.js';

/** Options of {@link Backfill}. */
export interface BackfillOptions {
  readonly source: MysqlSourceConfig & { readonly url: string };
  readonly nats: NatsConfig;
  /** `publishWindow` and `publishTimeoutMs` bound the publishing, as for capture. */
  readonly capture: CaptureConfig;
  readonly nc: NatsConnection;
  /** The backfill progress bucket (core `openBackfill`). */
  readonly progress: KV;
  /** The capture checkpoints bucket: the source must have a checkpoint before a backfill may start. */
  readonly checkpoints: KV;
  /** Tables to read. @default every table the source captures (for a new run), the run's tables (to resume) */
  readonly tables?: readonly TableRef[];
  /** Most rows per chunk (rows locked and held in memory at once). @default 1000 */
  readonly chunkRows?: number;
  /** Abandon an unfinished run and start a new one. @default false */
  readonly restart?: boolean;
  /** Seconds a one-row chunk waits for a row lock, per attempt (`innodb_lock_wait_timeout`). @default 5 */
  readonly lockWaitSeconds?: number;
  /** Lock waits a one-row chunk may time out before the backfill fails. @default 12 */
  readonly maxLockWaits?: number;
  readonly logger: Logger;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** Called after every chunk and whenever a table starts or ends. */
  readonly onProgress?: (p: BackfillStatus) => void;
}

/** Where a backfill stands. */
export interface BackfillStatus {
  readonly runId: string;
  /** True when an unfinished run was continued. */
  readonly resumed: boolean;
  readonly tables: readonly TableProgress[];
  /** Read events JetStream stored in this process. */
  readonly published: number;
  /** Read events JetStream already held (same id: a chunk re-published after a crash). */
  readonly deduplicated: number;
  /** Chunks given up and retried because another transaction held one of their rows. */
  readonly lockConflicts: number;
}

/** The outcome of {@link Backfill.run}. */
export interface BackfillSummary extends BackfillStatus {
  /** False when stopped before every table was done; a rerun continues. */
  readonly complete: boolean;
}

/** Diagnostics channel `sluice:backfill:chunk`: `{ sourceId, runId, database, table, rows, lockConflicts }`. */
export const backfillChunkChannel = channel('sluice:backfill:chunk');

/**
 * Reads the rows that existed before capture started and publishes each as a `read` event to the
 * events stream, chunk by chunk in primary-key order, resumable through the backfill KV bucket.
 * Each chunk's rows stay share-locked until JetStream acknowledged their events, so no live change of
 * a row can be stored before that row's read (docs/decisions/0011-backfill.md).
 */
export class Backfill {
  readonly #o: BackfillOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #stopping = false;
  #published = 0;
  #deduplicated = 0;
  #reader: ChunkReader | undefined;
  #run: BackfillRun | undefined;
  #resumed = false;

  constructor(o: BackfillOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'backfill', sourceId: o.source.id });
    this.#now = o.now ?? Date.now;
  }

  /** Asks {@link run} to stop after the chunk in progress; it then resolves with `complete: false`. */
  stop(): void {
    this.#stopping = true;
  }

  /**
   * Runs (or resumes) the backfill to the end, or until {@link stop}.
   * @throws SluiceError `SLUICE_BACKFILL_NO_CHECKPOINT`, `SLUICE_BACKFILL_NO_PRIMARY_KEY`,
   *   `SLUICE_BACKFILL_TABLE`, `SLUICE_BACKFILL_CONFLICT`, `SLUICE_BACKFILL_LOCKED`,
   *   `SLUICE_MYSQL_CONNECT`, `SLUICE_PUBLISH_FAILED`, `SLUICE_PUBLISH_TOO_LARGE`.
   */
  async run(): Promise<BackfillSummary> {
    const { source } = this.#o;
    if ((await loadCheckpoint(this.#o.checkpoints, source.id)) === undefined) {
      throw new SluiceError(
        'SLUICE_BACKFILL_NO_CHECKPOINT',
        `source ${source.id} has no capture checkpoint yet: start capture first and let it store one (any write on the server does)`,
      );
    }
    const conn = await openConnection(source.url, this.#o.lockWaitSeconds ?? 5);
    const publisher = new AckWindowPublisher(this.#o.nc, {
      window: this.#o.capture.publishWindow,
      timeoutMs: this.#o.capture.publishTimeoutMs,
    });
    try {
      const [[server]] = await conn.query<RowDataPacket[]>('SELECT VERSION() AS version');
      const isMariaDb = /mariadb/i.test(String(server!.version));
      const store = new ProgressStore(this.#o.progress, source.id);
      const tables = await this.#prepare(conn, store, isMariaDb);
      this.#reader = new ChunkReader({
        conn,
        isMariaDb,
        maxRows: this.#o.chunkRows ?? 1000,
        maxLockWaits: this.#o.maxLockWaits ?? 12,
      });
      for (const t of tables) {
        if (this.#stopping) break;
        await this.#table(t, store, publisher);
      }
      let run = this.#run!;
      if (run.tables.every((t) => t.state === 'done') && run.state !== 'done') {
        const nowIso = new Date(this.#now()).toISOString();
        run = { ...run, state: 'done', updatedAt: nowIso, finishedAt: nowIso };
        await store.save(run);
        this.#run = run;
      }
      return { ...this.status(), complete: run.state === 'done' };
    } finally {
      await publisher.close();
      await conn.end().catch(() => undefined);
    }
  }

  /** The progress so far (after {@link run} has planned the run). */
  status(): BackfillStatus {
    return {
      runId: this.#run?.runId ?? '',
      resumed: this.#resumed,
      tables: this.#run?.tables ?? [],
      published: this.#published,
      deduplicated: this.#deduplicated,
      lockConflicts: this.#reader?.lockConflicts ?? 0,
    };
  }

  // Resumes the unfinished run or plans a new one, checks every table, and claims the run in KV.
  async #prepare(conn: Connection, store: ProgressStore, isMariaDb: boolean): Promise<BackfillTable[]> {
    const filter = tableFilter(this.#o.source.include, this.#o.source.exclude);
    const resumed = resumableRun(await store.load(), this.#o.tables, this.#o.restart === true);
    const refs = resumed?.tables ?? this.#o.tables ?? (await capturedTables(conn, filter));
    const tables = await describeTables(conn, refs, {
      filter,
      isMariaDb,
      jsonLookup: isMariaDb ? checkConstraintLookup(conn) : undefined,
    });
    const nowIso = new Date(this.#now()).toISOString();
    const run = resumed ?? newRun(`bf-${randomBytes(6).toString('hex')}`, tables, nowIso);
    await store.save({ ...run, updatedAt: nowIso });
    this.#run = run;
    this.#resumed = resumed !== undefined;
    this.#log.info(
      { runId: run.runId, resumed: this.#resumed, tables: refs.map((r) => `${r.database}.${r.table}`) },
      this.#resumed ? 'resuming backfill' : 'starting backfill',
    );
    this.#report();
    return tables;
  }

  async #table(t: BackfillTable, store: ProgressStore, publisher: AckWindowPublisher): Promise<void> {
    const reader = this.#reader!;
    let p = this.#run!.tables.find((x) => x.database === t.database && x.table === t.table)!;
    if (p.state === 'done') return;
    for (;;) {
      if (this.#stopping) return;
      const chunk = await reader.read(t, p.after);
      const readAtMs = this.#now();
      if (chunk.rows.length === 0) {
        p = { ...p, state: 'done' };
        await this.#save(store, p);
        return;
      }
      try {
        await this.#publish(t, chunk, readAtMs, publisher);
      } catch (err) {
        // Locks go only once nothing sent can still be stored after a later change (decision 0011).
        await Promise.race([
          this.#o.nc.flush().catch(() => undefined),
          sleep(this.#o.capture.publishTimeoutMs),
        ]);
        await reader.abort().catch(() => undefined);
        throw err;
      }
      await reader.release();
      p = { ...p, state: 'running', after: chunk.keys.at(-1)!, rows: p.rows + chunk.rows.length };
      await this.#save(store, p);
      if (backfillChunkChannel.hasSubscribers) {
        backfillChunkChannel.publish({
          sourceId: this.#o.source.id,
          runId: this.#run!.runId,
          database: t.database,
          table: t.table,
          rows: chunk.rows.length,
          lockConflicts: reader.lockConflicts,
        });
      }
    }
  }

  // Publishes a chunk through the bounded window and waits until JetStream acknowledged all of it.
  async #publish(
    t: BackfillTable,
    chunk: Chunk,
    readAtMs: number,
    publisher: AckWindowPublisher,
  ): Promise<void> {
    const { nats, source } = this.#o;
    let failure: unknown;
    for (const raw of chunk.rows) {
      if (publisher.full) await publisher.room();
      if (publisher.failure !== undefined) break;
      const after = normalizeRow(t.shape, raw);
      const key = rowKey(t.shape, after);
      const event = readEvent({
        sourceId: source.id,
        runId: this.#run!.runId,
        shape: t.shape,
        after,
        key,
        readAtMs,
        position: chunk.position,
      });
      // No Sluice-Source: a read is not one of the binlog's events for the reconcile scan.
      const m = eventMessage(nats, event, key, null);
      publisher.publish(m.subject, m.data, m.msgId, m.headers).then(
        (ack) => (ack.duplicate ? this.#deduplicated++ : this.#published++),
        (err: unknown) => (failure ??= err),
      );
    }
    await publisher.drain();
    if (publisher.failure !== undefined || failure !== undefined) throw publisher.failure ?? failure;
  }

  async #save(store: ProgressStore, p: TableProgress): Promise<void> {
    this.#run = withTable(this.#run!, p, new Date(this.#now()).toISOString());
    await store.save(this.#run);
    this.#report();
  }

  #report(): void {
    this.#o.onProgress?.(this.status());
  }
}

async function openConnection(url: string, lockWaitSeconds: number): Promise<Connection> {
  const conn = await createConnection(mysqlOptions(url)).catch((cause: unknown) => {
    throw new SluiceError(
      'SLUICE_MYSQL_CONNECT',
      `cannot connect to ${redactUrl(url)}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  });
  conn.on('error', () => undefined); // a dead server surfaces as the next query's rejection
  try {
    // TIMESTAMP values in UTC, as capture decodes them; READ COMMITTED so that the share locks cover only
    // the rows read, never the gaps between them (inserts into a chunk's range are not blocked).
    await conn.query("SET SESSION time_zone = '+00:00'");
    await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
    await conn.query(`SET SESSION innodb_lock_wait_timeout = ${Math.max(1, Math.floor(lockWaitSeconds))}`);
    return conn;
  } catch (err) {
    await conn.end().catch(() => undefined);
    throw err;
  }
}
