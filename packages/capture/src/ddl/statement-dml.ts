import { SluiceError } from '@sluice/core';
import type { StatementClass } from './ddl-statement.js';
import type { TableFilter } from '../tables/schema-filter.js';

/**
 * What capture does when the binlog holds a DML statement as SQL text on a captured table
 * (`capture.onStatementDml`): its rows are in no row event, so capture cannot publish them.
 * `fail` stops capture with `SLUICE_BINLOG_STATEMENT_DML` before the checkpoint passes the statement;
 * `skip` logs that code as a warning and goes on without those rows.
 */
export type StatementDmlPolicy = 'fail' | 'skip';

/** What became of one DML statement of the binlog. */
export type StatementDmlVerdict =
  /** It changes no captured table: nothing is lost. */
  | { readonly kind: 'ignore' }
  | {
      readonly kind: StatementDmlPolicy;
      /** The captured tables it changes, `db.table`; empty when the statement's tables are unknown. */
      readonly tables: readonly string[];
    };

/**
 * Judges one DML statement of a `query` event. `defaultDb` (the session's `USE`) qualifies bare names.
 * A statement whose tables could not be read counts as changing a captured table: rows may be missing.
 */
export function judgeStatementDml(
  s: Extract<StatementClass, { category: 'dml' }>,
  defaultDb: string,
  filter: TableFilter,
  policy: StatementDmlPolicy,
): StatementDmlVerdict {
  if (s.tables === undefined) return { kind: policy, tables: [] };
  const captured = new Set<string>();
  for (const t of s.tables) {
    const database = t.database ?? defaultDb;
    if (database !== '' && filter(database, t.name)) captured.add(`${database}.${t.name}`);
  }
  return captured.size === 0 ? { kind: 'ignore' } : { kind: policy, tables: [...captured] };
}

/** Where a statement sits in the binlog, for the error and the warning. */
export interface StatementWhere {
  readonly position: string;
  readonly transaction: string;
}

/** The error capture stops with on a DML statement under `onStatementDml: fail`. */
export function statementDmlError(
  verb: string,
  tables: readonly string[],
  where: StatementWhere,
  statement: string,
): SluiceError {
  const on = tables.length > 0 ? `on ${tables.join(', ')}` : 'on a table capture could not tell';
  return new SluiceError(
    'SLUICE_BINLOG_STATEMENT_DML',
    `the binlog holds a statement-based ${verb} ${on} at ${where.position} (transaction ${where.transaction}): ` +
      'its rows are in no row event, so capture cannot publish them and stopped before its checkpoint passed it. ' +
      'A session logged with binlog_format=STATEMENT or MIXED; stop it doing so, then set ' +
      'capture.onStatementDml to skip to go past such statements with a warning and backfill the tables',
    { details: { verb, tables, ...where, statement } },
  );
}
