import { describe, expect, it } from 'vitest';
import { buildConfig, isSluiceError } from '@sluice/core';
import type { BackfillStatus, TableProgress } from '@sluice/capture';
import { parseCommandLine } from '../args.js';
import { parseTables, planBackfill } from './backfill.js';
import { ProgressReporter, formatSummary } from './backfill-report.js';

const config = buildConfig(
  JSON.stringify({
    nats: { url: 'nats://127.0.0.1:1' },
    sources: [{ id: 'shop', url: 'mysql://u:p@127.0.0.1:1' }, { id: 'embedded' }],
  }),
  {},
);

function usageError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('sluice backfill command line', () => {
  it('reads the source, tables, chunk size and flags', () => {
    const args = parseCommandLine([
      'backfill',
      'shop',
      '--tables',
      'shop.orders, shop.a.b',
      '--chunk',
      '250',
      '--json',
    ]);
    expect(planBackfill(args, config)).toMatchObject({
      source: { id: 'shop' },
      tables: [
        { database: 'shop', table: 'orders' },
        { database: 'shop', table: 'a.b' },
      ],
      chunkRows: 250,
      restart: false,
      json: true,
    });
    expect(planBackfill(parseCommandLine(['backfill', 'shop']), config)).toMatchObject({
      tables: undefined,
      chunkRows: 1000,
    });
  });

  it('refuses an unknown source, a bad chunk, a table without a schema, and a source without a url', () => {
    const plan = (argv: string[]) => usageError(() => planBackfill(parseCommandLine(argv), config));
    expect(isSluiceError(plan(['backfill', 'nope']), 'SLUICE_USAGE')).toBe(true);
    expect(isSluiceError(plan(['backfill', 'shop', '--chunk', '0']), 'SLUICE_USAGE')).toBe(true);
    expect(isSluiceError(plan(['backfill', 'shop', '--chunk', '1.5']), 'SLUICE_USAGE')).toBe(true);
    expect(isSluiceError(plan(['backfill', 'shop', '--tables', 'orders']), 'SLUICE_USAGE')).toBe(true);
    expect(isSluiceError(plan(['backfill', 'embedded']), 'SLUICE_CONFIG_INVALID')).toBe(true);
    expect(
      isSluiceError(
        usageError(() => parseCommandLine(['backfill'])),
        'SLUICE_USAGE',
      ),
    ).toBe(true);
    expect(parseTables(undefined)).toBeUndefined();
  });
});

const table = (over: Partial<TableProgress>): TableProgress => ({
  database: 'shop',
  table: 'orders',
  state: 'running',
  after: null,
  rows: 0,
  estimatedRows: 4000,
  ...over,
});
const status = (tables: TableProgress[]): BackfillStatus => ({
  runId: 'bf-1',
  resumed: false,
  tables,
  published: 0,
  deduplicated: 0,
  lockConflicts: 0,
});

describe('backfill progress output', () => {
  it('prints at most once a second, with rows, estimate, percentage and this process’s rate', () => {
    let now = 0;
    const lines: string[] = [];
    const r = new ProgressReporter(
      (l) => lines.push(l),
      () => now,
    );
    r.update(status([table({ rows: 0 }), table({ table: 'b', state: 'pending' })]));
    now = 500;
    r.update(status([table({ rows: 1000 }), table({ table: 'b', state: 'pending' })]));
    now = 2000;
    r.update(status([table({ rows: 3000 }), table({ table: 'b', state: 'pending' })]));
    now = 2100;
    r.update(status([table({ rows: 4500, state: 'done' }), table({ table: 'b', rows: 0 })]));
    expect(lines).toEqual([
      'shop.orders  0/~4,000 rows (0%)  0 rows/s  [table 1/2]',
      'shop.orders  3,000/~4,000 rows (75%)  1,500 rows/s  [table 1/2]',
      'shop.orders  4,500 rows  done',
      'shop.b  0/~4,000 rows (0%)  2,143 rows/s  [table 2/2]',
    ]);
  });

  it('sums up the run', () => {
    const lines = formatSummary(
      {
        ...status([table({ rows: 4500, state: 'done' })]),
        complete: true,
        published: 4400,
        deduplicated: 100,
      },
      2000,
      2250,
    );
    expect(lines[0]).toBe('backfill bf-1 complete: 1 table(s), 4,500 rows in 2.0 s (2,250 rows/s here)');
    expect(lines[1]).toContain('events stored 4,400, already in the stream 100, lock conflicts 0');
    expect(lines[2]).toMatch(/shop\.orders +4,500 rows {2}done/);
  });
});
