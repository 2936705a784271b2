import assert from 'node:assert/strict';
import { quoteIdent, type BackfillTable } from './backfill-tables.js';

/**
 * A primary-key value as the progress record stores it: numbers and strings as the driver returned
 * them (BIGINT and DECIMAL are exact strings), binary keys as base64.
 */
export type KeyValue = string | number | { readonly base64: string };

/**
 * How a chunk's rows are locked: `nowait` fails at once on a row another transaction holds, `wait`
 * queues behind it. Only a one-row chunk may wait, so the backfill never waits while holding locks and
 * can never take part in a deadlock (docs/decisions/0011-backfill.md).
 */
export type LockMode = 'nowait' | 'wait';

/** A statement with its bound parameters. */
export interface Query {
  readonly sql: string;
  readonly params: readonly unknown[];
}

const NUMERIC_LITERAL = /^-?\d+(\.\d+)?$/;

/** The key value of a selected row as stored in the progress record. */
export function toKeyValue(v: unknown): KeyValue {
  if (Buffer.isBuffer(v)) return { base64: v.toString('base64') };
  assert(typeof v === 'string' || typeof v === 'number', `unexpected primary-key value ${String(v)}`);
  return v;
}

/**
 * The statement reading the next chunk: keyset pagination on the primary key, rows share-locked until
 * the transaction ends. The condition is spelt out as `a > ? OR (a = ? AND b > ?) …` rather than a row
 * comparison, which MariaDB does not turn into an index range. Integer and DECIMAL keys are inlined as
 * literals, because comparing them with a bound string would go through a double and lose precision.
 */
export function chunkQuery(
  t: BackfillTable,
  after: readonly KeyValue[] | null,
  limit: number,
  lock: LockMode,
  isMariaDb: boolean,
): Query {
  assert(Number.isInteger(limit) && limit > 0, 'chunk size must be a positive integer');
  const keys = t.key.map((k) => quoteIdent(k.name));
  const params: unknown[] = [];
  let where = '';
  if (after !== null) {
    assert.equal(after.length, t.key.length, 'stored key does not match the primary key');
    const value = (i: number): string => {
      const v = after[i]!;
      if (t.key[i]!.numeric) {
        const literal = String(v);
        assert(NUMERIC_LITERAL.test(literal), `numeric key value ${literal} is not a number`);
        return literal;
      }
      params.push(typeof v === 'object' ? Buffer.from(v.base64, 'base64') : v);
      return '?';
    };
    const terms: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      const parts: string[] = [];
      for (let j = 0; j < i; j++) parts.push(`${keys[j]} = ${value(j)}`);
      parts.push(`${keys[i]} > ${value(i)}`);
      terms.push(parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`);
    }
    where = ` WHERE ${terms.join(' OR ')}`;
  }
  const lockClause = isMariaDb ? 'LOCK IN SHARE MODE' : 'FOR SHARE';
  const select = [...t.select, ...keys.map((k, i) => `${k} AS k${i}`)].join(', ');
  const sql =
    `SELECT ${select} FROM ${quoteIdent(t.database)}.${quoteIdent(t.table)}${where}` +
    ` ORDER BY ${keys.join(', ')} LIMIT ${limit} ${lockClause}${lock === 'nowait' ? ' NOWAIT' : ''}`;
  return { sql, params };
}
