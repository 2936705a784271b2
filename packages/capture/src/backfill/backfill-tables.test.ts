import { describe, expect, it } from 'vitest';
import { columnSpecOf, keyProblem, quoteIdent, selectExpression } from './backfill-tables.js';
import { ColumnType } from '../mysql/row-values.js';

const col = (name: string, dataType: string, precision: number | null = null) => ({
  name,
  dataType,
  precision,
});

describe('backfill column mapping', () => {
  it('gives each column the spec capture builds from a TableMap', () => {
    expect(columnSpecOf(col('b', 'bit', 10), new Set())).toEqual({
      name: 'b',
      type: ColumnType.BIT,
      json: false,
      bits: 10,
    });
    expect(columnSpecOf(col('t', 'timestamp'), new Set()).type).toBe(ColumnType.TIMESTAMP2);
    expect(columnSpecOf(col('n', 'bigint'), new Set()).type).toBe(ColumnType.LONGLONG);
    expect(columnSpecOf(col('s', 'varchar'), new Set())).toMatchObject({ json: false });
    // MariaDB JSON is LONGTEXT with a json_valid check; MySQL has a JSON type.
    expect(columnSpecOf(col('j', 'longtext'), new Set(['j']))).toMatchObject({ json: true });
    expect(columnSpecOf(col('j', 'longtext'), new Set())).toMatchObject({ json: false });
    expect(columnSpecOf(col('j', 'json'), new Set())).toMatchObject({ json: true });
  });

  it('selects FLOAT through a double and MariaDB UUID/INET as their stored bytes', () => {
    expect(selectExpression(col('f', 'float'))).toBe('(`f` + 0e0)');
    expect(selectExpression(col('u', 'uuid'))).toBe('CAST(`u` AS BINARY(16))');
    expect(selectExpression(col('i', 'inet4'))).toBe('CAST(`i` AS BINARY(4))');
    expect(selectExpression(col('we`ird', 'int'))).toBe('`we``ird`');
    expect(quoteIdent('a`b')).toBe('`a``b`');
  });

  it('pages only by key types whose index order matches a comparison with a literal', () => {
    for (const t of ['int', 'bigint', 'decimal', 'varchar', 'varbinary', 'datetime', 'timestamp'])
      expect(keyProblem(col('k', t), false)).toBeUndefined();
    expect(keyProblem(col('k', 'uuid'), true)).toBeUndefined();
    expect(keyProblem(col('k', 'uuid'), false)).toMatch(/UUID/);
    expect(keyProblem(col('k', 'enum'), true)).toMatch(/k is ENUM/);
    expect(keyProblem(col('k', 'float'), true)).toMatch(/FLOAT/);
  });
});
