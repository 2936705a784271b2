import { describe, expect, it } from 'vitest';
import { classifyStatement, type StatementClass } from './ddl-statement.js';
import { judgeStatementDml, statementDmlError } from './statement-dml.js';
import { tableFilter } from '../tables/schema-filter.js';

const dml = (sql: string) => {
  const s = classifyStatement(sql);
  expect(s.category).toBe('dml');
  return s as Extract<StatementClass, { category: 'dml' }>;
};
const filter = tableFilter(['shop.orders', 'crm'], []);

describe('judgeStatementDml', () => {
  it('applies the policy to DML on a captured table, bare names in the default database', () => {
    expect(judgeStatementDml(dml('INSERT INTO orders VALUES (1)'), 'shop', filter, 'fail')).toEqual({
      kind: 'fail',
      tables: ['shop.orders'],
    });
    expect(judgeStatementDml(dml('UPDATE shop.orders o, crm.c SET o.a = c.a'), '', filter, 'skip')).toEqual({
      kind: 'skip',
      tables: ['shop.orders', 'crm.c'],
    });
  });

  it('ignores DML on tables the source does not capture', () => {
    expect(judgeStatementDml(dml('INSERT INTO orders VALUES (1)'), 'other', filter, 'fail')).toEqual({
      kind: 'ignore',
    });
    expect(judgeStatementDml(dml('DELETE FROM shop.lines'), 'crm', filter, 'fail')).toEqual({
      kind: 'ignore',
    });
    expect(judgeStatementDml(dml('DELETE FROM lines'), '', filter, 'fail')).toEqual({ kind: 'ignore' });
  });

  it('counts DML whose tables it cannot read as changing a captured table', () => {
    const s = dml('WITH c AS (SELECT 1) DELETE FROM other.t');
    expect(judgeStatementDml(s, 'other', filter, 'fail')).toEqual({ kind: 'fail', tables: [] });
  });
});

describe('statementDmlError', () => {
  it('carries its code, where the statement is, and the way past it', () => {
    const err = statementDmlError(
      'INSERT',
      ['shop.orders'],
      { position: 'bin.000002:4711', transaction: '0-1-42' },
      "INSERT INTO orders VALUES (1, '?')",
    );
    expect(err.code).toBe('SLUICE_BINLOG_STATEMENT_DML');
    expect(err.message).toContain('statement-based INSERT on shop.orders at bin.000002:4711');
    expect(err.message).toContain('capture.onStatementDml');
    expect(err.details).toEqual({
      verb: 'INSERT',
      tables: ['shop.orders'],
      position: 'bin.000002:4711',
      transaction: '0-1-42',
      statement: "INSERT INTO orders VALUES (1, '?')",
    });
  });
});
