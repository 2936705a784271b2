import type { BackfillStatus, BackfillSummary, TableProgress } from '@sluice/capture';

const n = (x: number): string => x.toLocaleString('en-US');

function rowsDone(tables: readonly TableProgress[]): number {
  return tables.reduce((sum, t) => sum + t.rows, 0);
}

/** The table being read: the first one not done, or `undefined` when all are. */
function current(tables: readonly TableProgress[]): { t: TableProgress; index: number } | undefined {
  const index = tables.findIndex((t) => t.state !== 'done');
  return index < 0 ? undefined : { t: tables[index]!, index };
}

/**
 * Turns progress updates into at most one stderr line per `everyMs` (plus one whenever a table
 * finishes): `shop.orders  12,000/~50,000 rows (24%)  8,100 rows/s  [table 1/3]`. The rate counts the
 * rows this process read since it started, so a resumed run does not report the earlier rows as speed.
 */
export class ProgressReporter {
  readonly #print: (line: string) => void;
  readonly #now: () => number;
  readonly #everyMs: number;
  readonly #startMs: number;
  #startRows: number | undefined;
  #lastMs = Number.NEGATIVE_INFINITY;
  #doneTables = 0;

  constructor(print: (line: string) => void, now: () => number, everyMs = 1_000) {
    this.#print = print;
    this.#now = now;
    this.#everyMs = everyMs;
    this.#startMs = now();
  }

  /** Rows per second read by this process so far. */
  rate(status: BackfillStatus): number {
    const seconds = (this.#now() - this.#startMs) / 1000;
    const rows = rowsDone(status.tables) - (this.#startRows ?? rowsDone(status.tables));
    return seconds > 0 ? rows / seconds : 0;
  }

  /** Called with every progress update; prints when a table finished or `everyMs` has passed. */
  update(status: BackfillStatus): void {
    this.#startRows ??= rowsDone(status.tables);
    const done = status.tables.filter((t) => t.state === 'done').length;
    const now = this.#now();
    if (done === this.#doneTables && now - this.#lastMs < this.#everyMs) return;
    for (const t of status.tables.slice(this.#doneTables, done))
      this.#print(`${name(t)}  ${n(t.rows)} rows  done`);
    this.#doneTables = Math.max(this.#doneTables, done);
    this.#lastMs = now;
    const c = current(status.tables);
    if (c === undefined) return;
    const { t, index } = c;
    const pct =
      t.estimatedRows > 0 ? ` (${Math.min(99, Math.floor((100 * t.rows) / t.estimatedRows))}%)` : '';
    this.#print(
      `${name(t)}  ${n(t.rows)}/~${n(Math.max(t.estimatedRows, t.rows))} rows${pct}  ${n(Math.round(this.rate(status)))} rows/s  [table ${index + 1}/${status.tables.length}]`,
    );
  }
}

function name(t: TableProgress): string {
  return `${t.database}.${t.table}`;
}

/** The closing lines of `sluice backfill`: the outcome, then one line per table. */
export function formatSummary(s: BackfillSummary, elapsedMs: number, rate: number): string[] {
  const rows = rowsDone(s.tables);
  const head = s.complete
    ? `backfill ${s.runId} complete`
    : `backfill ${s.runId} stopped before the end (rerun the same command to continue)`;
  const lines = [
    `${head}: ${s.tables.length} table(s), ${n(rows)} rows in ${(elapsedMs / 1000).toFixed(1)} s (${n(Math.round(rate))} rows/s here)`,
    `  events stored ${n(s.published)}, already in the stream ${n(s.deduplicated)}, lock conflicts ${n(s.lockConflicts)}${s.resumed ? ', resumed an unfinished run' : ''}`,
  ];
  const width = Math.max(...s.tables.map((t) => name(t).length));
  for (const t of s.tables)
    lines.push(`  ${name(t).padEnd(width)}  ${n(t.rows).padStart(12)} rows  ${t.state}`);
  return lines;
}
