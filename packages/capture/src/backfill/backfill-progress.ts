import type { KV } from '@nats-io/kv';
import { SluiceError } from '@sluice/core';
import type { KeyValue } from './backfill-query.js';
import type { TableRef } from './backfill-tables.js';

/** Progress of one table in a backfill run. */
export interface TableProgress extends TableRef {
  readonly state: 'pending' | 'running' | 'done';
  /** Primary key of the last row whose chunk is done; `null` before the first chunk. */
  readonly after: readonly KeyValue[] | null;
  /** Rows read and acknowledged by JetStream, in finished chunks. */
  readonly rows: number;
  /** The server's row-count estimate when the run started. */
  readonly estimatedRows: number;
}

/**
 * A backfill run as stored in the backfill KV bucket under the source id (JSON). A run is resumed
 * until every table is done; its id is part of every read event's id.
 */
export interface BackfillRun {
  readonly runId: string;
  readonly state: 'running' | 'done';
  /** RFC 3339 times. */
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
  readonly tables: readonly TableProgress[];
}

const encoder = new TextEncoder();

/**
 * Reads and writes one source's {@link BackfillRun}, compare-and-set on the KV revision: two backfills
 * of one source cannot both advance it; the second fails with `SLUICE_BACKFILL_CONFLICT`.
 */
export class ProgressStore {
  readonly #kv: KV;
  readonly #key: string;
  #revision = 0;

  constructor(kv: KV, sourceId: string) {
    this.#kv = kv;
    this.#key = sourceId;
  }

  /** The stored run, or `undefined` when the source never had one. */
  async load(): Promise<BackfillRun | undefined> {
    const entry = await this.#kv.get(this.#key);
    if (entry === null || entry.operation !== 'PUT' || entry.value.length === 0) {
      this.#revision = entry?.revision ?? 0;
      return undefined;
    }
    this.#revision = entry.revision;
    try {
      return entry.json<BackfillRun>();
    } catch (cause) {
      throw new SluiceError(
        'SLUICE_BACKFILL_CONFLICT',
        `the backfill progress of source ${this.#key} is not JSON; delete it to start over`,
        { cause },
      );
    }
  }

  /** Stores `run` if nobody else wrote since this store last read or wrote it. */
  async save(run: BackfillRun): Promise<void> {
    const data = encoder.encode(JSON.stringify(run));
    try {
      this.#revision =
        this.#revision === 0
          ? await this.#kv.create(this.#key, data)
          : await this.#kv.update(this.#key, data, this.#revision);
    } catch (cause) {
      if (!/wrong last sequence|key exists/i.test(String((cause as Error).message))) throw cause;
      throw new SluiceError(
        'SLUICE_BACKFILL_CONFLICT',
        `another backfill of source ${this.#key} updated its progress: only one may run at a time`,
        { cause },
      );
    }
  }
}

/**
 * Decides what to run: the unfinished run when there is one (and `restart` is not set), else a new
 * run of `wanted`. Pure.
 * @returns `undefined` for tables when a new run must first list the captured tables.
 * @throws SluiceError `SLUICE_BACKFILL_CONFLICT` when an unfinished run covers other tables than `wanted`.
 */
export function resumableRun(
  stored: BackfillRun | undefined,
  wanted: readonly TableRef[] | undefined,
  restart: boolean,
): BackfillRun | undefined {
  if (stored === undefined || stored.state === 'done' || restart) return undefined;
  const same =
    wanted === undefined ||
    (wanted.length === stored.tables.length &&
      wanted.every((w) => stored.tables.some((t) => t.database === w.database && t.table === w.table)));
  if (!same) {
    const names = stored.tables.map((t) => `${t.database}.${t.table}`).join(', ');
    throw new SluiceError(
      'SLUICE_BACKFILL_CONFLICT',
      `an unfinished backfill run (${stored.runId}) covers ${names}: rerun it without --tables to finish it, or pass --restart to abandon it`,
      { details: { runId: stored.runId, tables: names } },
    );
  }
  return stored;
}

/** A new run over `tables`, every table pending. */
export function newRun(
  runId: string,
  tables: readonly (TableRef & { estimatedRows: number })[],
  nowIso: string,
): BackfillRun {
  return {
    runId,
    state: 'running',
    startedAt: nowIso,
    updatedAt: nowIso,
    tables: tables.map((t) => ({
      database: t.database,
      table: t.table,
      state: 'pending',
      after: null,
      rows: 0,
      estimatedRows: t.estimatedRows,
    })),
  };
}

/** `run` with one table replaced (matched by name) and `updatedAt` set. Pure. */
export function withTable(run: BackfillRun, next: TableProgress, nowIso: string): BackfillRun {
  return {
    ...run,
    updatedAt: nowIso,
    tables: run.tables.map((t) => (t.database === next.database && t.table === next.table ? next : t)),
  };
}
