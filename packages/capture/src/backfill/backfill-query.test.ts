import { describe, expect, it } from 'vitest';
import { chunkQuery, toKeyValue } from './backfill-query.js';
import type { BackfillTable } from './backfill-tables.js';

function table(key: { name: string; numeric: boolean }[]): BackfillTable {
  return {
    database: 'shop',
    table: 'or`ders',
    shape: { database: 'shop', table: 'or`ders', columns: [], primaryKey: key.map((k) => k.name) },
    select: ['`id` AS c0', '`v` AS c1'],
    key,
    jsonAliases: new Set(),
    estimatedRows: 0,
  };
}

describe('chunkQuery', () => {
  it('starts at the beginning, ordered by the key, share-locked without waiting', () => {
    const q = chunkQuery(table([{ name: 'id', numeric: true }]), null, 500, 'nowait', true);
    expect(q.sql).toBe(
      'SELECT `id` AS c0, `v` AS c1, `id` AS k0 FROM `shop`.`or``ders` ORDER BY `id` LIMIT 500 LOCK IN SHARE MODE NOWAIT',
    );
    expect(q.params).toEqual([]);
  });

  it('inlines numeric keys exactly and spells a composite key out term by term', () => {
    const t = table([
      { name: 'a', numeric: true },
      { name: 'b', numeric: false },
      { name: 'c', numeric: false },
    ]);
    const q = chunkQuery(t, ['18446744073709551615', 'x', { base64: 'AP8=' }], 1, 'wait', true);
    expect(q.sql).toContain(
      'WHERE `a` > 18446744073709551615 OR (`a` = 18446744073709551615 AND `b` > ?) OR (`a` = 18446744073709551615 AND `b` = ? AND `c` > ?)',
    );
    expect(q.sql).toMatch(/ORDER BY `a`, `b`, `c` LIMIT 1 LOCK IN SHARE MODE$/);
    expect(q.params).toEqual(['x', 'x', Buffer.from([0, 255])]);
  });

  it('uses FOR SHARE on MySQL', () => {
    const q = chunkQuery(table([{ name: 'id', numeric: true }]), [-5], 10, 'nowait', false);
    expect(q.sql).toMatch(/WHERE `id` > -5 ORDER BY `id` LIMIT 10 FOR SHARE NOWAIT$/);
  });

  it('refuses a numeric key that is not a number, and a chunk of no rows', () => {
    expect(() =>
      chunkQuery(table([{ name: 'id', numeric: true }]), ['1 OR 1=1'], 10, 'wait', true),
    ).toThrow();
    expect(() => chunkQuery(table([{ name: 'id', numeric: true }]), null, 0, 'wait', true)).toThrow();
  });
});

describe('toKeyValue', () => {
  it('keeps numbers and strings, and stores binary as base64', () => {
    expect(toKeyValue(7)).toBe(7);
    expect(toKeyValue('9007199254740993')).toBe('9007199254740993');
    expect(toKeyValue(Buffer.from('hi'))).toEqual({ base64: 'aGk=' });
  });
});
