import type { TableMapEvent } from '@vlasky/zongji';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@sluice/core';
import { definitionPredates, TableCatalog, type JsonColumns } from './table-catalog.js';

const LONGTEXT = { type: 252, charset: 'utf8mb4', metadata: { length_size: 4 } };

function tableMap(tableId: number, timestampMs: number, columns: string[]): TableMapEvent {
  return {
    tableId,
    schemaName: 'shop',
    tableName: 'docs',
    timestamp: timestampMs,
    columnTypes: [3, ...columns.map(() => 252)],
    primaryKey: [0],
    tableMap: {
      [tableId]: {
        columns: [{ name: 'id', type: 3, charset: null }, ...columns.map((name) => ({ name, ...LONGTEXT }))],
      },
    },
  } as unknown as TableMapEvent;
}

function catalog(definedAtSec: number | undefined, json: string[]) {
  const lookups: string[] = [];
  const warnings: Record<string, unknown>[] = [];
  const logger = createLogger(
    { level: 'warn', pretty: false },
    { write: (l: string) => warnings.push(JSON.parse(l) as Record<string, unknown>) },
  );
  const cat = new TableCatalog(async (db, table) => {
    lookups.push(`${db}.${table}`);
    return Object.assign(new Set(json), { definedAtSec }) as JsonColumns;
  }, logger);
  const jsonOf = async (ev: TableMapEvent) => {
    await cat.onTableMap(ev, true);
    return cat
      .shape(ev.tableId)!
      .columns.filter((c) => c.json)
      .map((c) => c.name);
  };
  return { cat, lookups, warnings, jsonOf };
}

describe('definitionPredates', () => {
  it('needs a full second between the definition and the row', () => {
    expect(definitionPredates(100, 102_000)).toBe(true);
    expect(definitionPredates(100, 101_999)).toBe(false);
    expect(definitionPredates(100, 100_000)).toBe(false);
    expect(definitionPredates(100, 50_000)).toBe(false);
    expect(definitionPredates(undefined, 102_000)).toBe(false);
  });
});

describe('TableCatalog JSON columns', () => {
  it('uses a definition older than the rows silently, once looked up per shape', async () => {
    const c = catalog(1_000, ['doc']);
    expect(await c.jsonOf(tableMap(1, 1_005_000, ['doc', 'note']))).toEqual(['doc']);
    expect(await c.jsonOf(tableMap(2, 1_006_000, ['doc', 'note']))).toEqual(['doc']);
    expect(c.lookups).toEqual(['shop.docs']);
    expect(c.warnings).toEqual([]);
  });

  it('warns once per shape when the definition is newer than the rows', async () => {
    const c = catalog(1_000, ['doc2']);
    expect(await c.jsonOf(tableMap(1, 999_000, ['doc', 'note']))).toEqual([]);
    expect(await c.jsonOf(tableMap(1, 999_000, ['doc', 'note']))).toEqual([]);
    expect(c.warnings).toEqual([
      expect.objectContaining({
        code: 'SLUICE_TABLE_SHAPE_UNCERTAIN',
        table: 'docs',
        textColumns: ['doc', 'note'],
        jsonColumns: ['doc2'],
      }),
    ]);
  });

  it('looks again after a DDL statement', async () => {
    const c = catalog(1_000, ['doc']);
    await c.jsonOf(tableMap(1, 1_005_000, ['doc']));
    c.cat.schemaChanged();
    await c.jsonOf(tableMap(2, 1_005_000, ['doc']));
    expect(c.lookups).toEqual(['shop.docs', 'shop.docs']);
  });

  it('does not look up tables without long text columns, or not captured', async () => {
    const c = catalog(1_000, ['doc']);
    expect(await c.jsonOf(tableMap(1, 1_005_000, []))).toEqual([]);
    expect(c.cat.onTableMap(tableMap(2, 1_005_000, ['doc']), false)).toBeUndefined();
    expect(c.lookups).toEqual([]);
  });
});
