import { describe, expect, it } from 'vitest';
import { isSluiceError } from '@sluice/core';
import { newRun, resumableRun, withTable, type BackfillRun } from './backfill-progress.js';

const T = '2026-01-01T00:00:00.000Z';
const a = { database: 'shop', table: 'a', estimatedRows: 10 };
const b = { database: 'shop', table: 'b', estimatedRows: 20 };

describe('backfill runs', () => {
  const run = newRun('bf-1', [a, b], T);

  it('starts every table pending, from the beginning', () => {
    expect(run).toMatchObject({ runId: 'bf-1', state: 'running', startedAt: T });
    expect(run.tables.map((t) => [t.table, t.state, t.after, t.rows, t.estimatedRows])).toEqual([
      ['a', 'pending', null, 0, 10],
      ['b', 'pending', null, 0, 20],
    ]);
  });

  it('resumes an unfinished run unless it is done or a restart was asked for', () => {
    expect(resumableRun(undefined, undefined, false)).toBeUndefined();
    expect(resumableRun(run, undefined, false)).toBe(run);
    expect(resumableRun(run, [b, a], false)).toBe(run); // same tables, any order
    expect(resumableRun(run, [a], true)).toBeUndefined();
    expect(resumableRun({ ...run, state: 'done' } satisfies BackfillRun, [a], false)).toBeUndefined();
  });

  it('refuses to continue an unfinished run with other tables', () => {
    let err: unknown;
    try {
      resumableRun(run, [a], false);
    } catch (e) {
      err = e;
    }
    expect(isSluiceError(err, 'SLUICE_BACKFILL_CONFLICT')).toBe(true);
    expect((err as Error).message).toContain('shop.a, shop.b');
  });

  it('replaces one table by name', () => {
    const next = withTable(run, { ...run.tables[1]!, state: 'running', after: [5], rows: 5 }, 'later');
    expect(next.updatedAt).toBe('later');
    expect(next.tables[0]).toBe(run.tables[0]);
    expect(next.tables[1]).toMatchObject({ table: 'b', after: [5], rows: 5 });
  });
});
