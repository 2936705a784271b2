import type { Connection, RowDataPacket } from 'mysql2/promise';
import { SluiceError, type ErrorCode } from '@sluice/core';
import type { TableShape } from '../rows/row-change.js';
import { ColumnType, type ColumnSpec } from '../mysql/row-values.js';
import { SYSTEM_SCHEMAS, type TableFilter } from '../tables/schema-filter.js';
import type { JsonColumnLookup } from '../tables/table-catalog.js';

/** A table named by schema and name. */
export interface TableRef {
  readonly database: string;
  readonly table: string;
}

/** A primary-key column as a keyset condition uses it. */
export interface KeyColumn {
  readonly name: string;
  /** Integer and DECIMAL keys are written into the condition as exact literals, others bound as strings. */
  readonly numeric: boolean;
}

/** What the backfill reads from one table, and how. */
export interface BackfillTable extends TableRef {
  /** Column specs and primary key, as capture would see them in a TableMap. */
  readonly shape: TableShape;
  /** One select expression per column of `shape.columns`, aliased `c0`, `c1`, … */
  readonly select: readonly string[];
  /** Primary-key columns in key order. */
  readonly key: readonly KeyColumn[];
  /** Aliases whose text is JSON: the driver must hand them over unparsed (big integers). */
  readonly jsonAliases: ReadonlySet<string>;
  /** The server's row-count estimate (information_schema.TABLES.TABLE_ROWS). */
  readonly estimatedRows: number;
}

const TYPE_CODES: Readonly<Record<string, number>> = {
  tinyint: ColumnType.TINY,
  smallint: ColumnType.SHORT,
  mediumint: ColumnType.INT24,
  int: ColumnType.LONG,
  bigint: ColumnType.LONGLONG,
  float: ColumnType.FLOAT,
  double: ColumnType.DOUBLE,
  decimal: ColumnType.NEWDECIMAL,
  date: ColumnType.DATE,
  datetime: ColumnType.DATETIME2,
  timestamp: ColumnType.TIMESTAMP2,
  time: ColumnType.TIME2,
  year: ColumnType.YEAR,
  bit: ColumnType.BIT,
  enum: ColumnType.ENUM,
  set: ColumnType.SET,
};
const VAR_STRING = 253;
const BLOB = 252;

const NUMERIC_KEYS = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint', 'decimal', 'year']);
// Types whose order in the index equals their order when compared with a bound string.
const BOUND_KEYS = new Set([
  'char',
  'varchar',
  'binary',
  'varbinary',
  'date',
  'datetime',
  'timestamp',
  'time',
]);
const MARIADB_KEYS = new Set(['uuid', 'inet4', 'inet6']);

/** A column as information_schema.COLUMNS describes it. */
export interface ColumnFacts {
  readonly name: string;
  /** DATA_TYPE, lower case: `int`, `varchar`, `longtext`, `uuid`, … */
  readonly dataType: string;
  /** NUMERIC_PRECISION: the width of a BIT column. */
  readonly precision: number | null;
}

/**
 * The column spec capture would build for this column, so that {@link normalizeValue} maps a selected
 * value exactly as it maps the binlog's. `json` marks MariaDB LONGTEXT JSON columns (from their
 * `json_valid` check) and MySQL's JSON type alike: both arrive as text here and are parsed the same way.
 */
export function columnSpecOf(c: ColumnFacts, jsonColumns: ReadonlySet<string>): ColumnSpec {
  const json = c.dataType === 'json' || (c.dataType === 'longtext' && jsonColumns.has(c.name));
  const type = json ? BLOB : (TYPE_CODES[c.dataType] ?? VAR_STRING);
  return { name: c.name, type, json, ...(c.dataType === 'bit' ? { bits: c.precision ?? 1 } : {}) };
}

/** `name` as a quoted identifier. */
export function quoteIdent(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/**
 * The expression that selects a column's value in the form the binlog carries it. FLOAT goes through a
 * double because the text protocol prints only 6 significant digits; MariaDB's UUID and INET types are
 * read as their stored bytes, which is what the binlog (and so every captured event) holds.
 */
export function selectExpression(c: ColumnFacts): string {
  const q = quoteIdent(c.name);
  switch (c.dataType) {
    case 'float':
      return `(${q} + 0e0)`;
    case 'uuid':
    case 'inet6':
      return `CAST(${q} AS BINARY(16))`;
    case 'inet4':
      return `CAST(${q} AS BINARY(4))`;
    default:
      return q;
  }
}

/** Why a primary-key column cannot be paged, or `undefined` when it can. */
export function keyProblem(c: ColumnFacts, isMariaDb: boolean): string | undefined {
  if (NUMERIC_KEYS.has(c.dataType) || BOUND_KEYS.has(c.dataType)) return undefined;
  if (isMariaDb && MARIADB_KEYS.has(c.dataType)) return undefined;
  return `primary-key column ${c.name} is ${c.dataType.toUpperCase()}, which the backfill cannot page by`;
}

interface Problem {
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * Reads what the backfill needs about each table from information_schema (the capture user's SELECT
 * grant makes it visible) and checks every table before anything is read.
 * @throws SluiceError `SLUICE_BACKFILL_NO_PRIMARY_KEY` or `SLUICE_BACKFILL_TABLE`, listing every problem.
 */
export async function describeTables(
  conn: Connection,
  refs: readonly TableRef[],
  opts: { filter: TableFilter; isMariaDb: boolean; jsonLookup: JsonColumnLookup | undefined },
): Promise<BackfillTable[]> {
  const out: BackfillTable[] = [];
  const problems: Problem[] = [];
  for (const ref of refs) {
    const r = await describeTable(conn, ref, opts);
    if ('code' in r) problems.push(r);
    else out.push(r);
  }
  const first = problems[0];
  if (first !== undefined) {
    const code = problems.some((p) => p.code === 'SLUICE_BACKFILL_NO_PRIMARY_KEY')
      ? 'SLUICE_BACKFILL_NO_PRIMARY_KEY'
      : first.code;
    throw new SluiceError(code, `cannot backfill:\n  ${problems.map((p) => p.message).join('\n  ')}`, {
      details: { problems },
    });
  }
  return out;
}

async function describeTable(
  conn: Connection,
  ref: TableRef,
  opts: { filter: TableFilter; isMariaDb: boolean; jsonLookup: JsonColumnLookup | undefined },
): Promise<BackfillTable | Problem> {
  const name = `${ref.database}.${ref.table}`;
  const [[info]] = await conn.query<RowDataPacket[]>(
    'SELECT TABLE_TYPE AS type, ENGINE AS engine, TABLE_ROWS AS estimate FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [ref.database, ref.table],
  );
  if (info === undefined)
    return {
      code: 'SLUICE_BACKFILL_TABLE',
      message: `${name} does not exist (or is not visible to the source user)`,
    };
  if (!opts.filter(ref.database, ref.table))
    return {
      code: 'SLUICE_BACKFILL_TABLE',
      message: `${name} is not captured by the source (include/exclude)`,
    };
  if (info.type !== 'BASE TABLE' || String(info.engine).toLowerCase() !== 'innodb')
    return {
      code: 'SLUICE_BACKFILL_TABLE',
      message: `${name} is ${info.type === 'BASE TABLE' ? `${String(info.engine)}, not InnoDB` : `a ${String(info.type)}`}: its rows cannot be locked while read`,
    };
  const [cols] = await conn.query<RowDataPacket[]>(
    'SELECT COLUMN_NAME AS name, LOWER(DATA_TYPE) AS dataType, NUMERIC_PRECISION AS prec FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [ref.database, ref.table],
  );
  const [pk] = await conn.query<RowDataPacket[]>(
    "SELECT COLUMN_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
    [ref.database, ref.table],
  );
  if (pk.length === 0)
    return { code: 'SLUICE_BACKFILL_NO_PRIMARY_KEY', message: `${name} has no primary key` };
  const facts: ColumnFacts[] = cols.map((c) => ({
    name: String(c.name),
    dataType: String(c.dataType),
    precision: c.prec === null ? null : Number(c.prec),
  }));
  const byName = new Map(facts.map((f) => [f.name, f]));
  const keyFacts = pk.map((k) => byName.get(String(k.name))!);
  const bad = keyFacts.map((k) => keyProblem(k, opts.isMariaDb)).find((p) => p !== undefined);
  if (bad !== undefined) return { code: 'SLUICE_BACKFILL_TABLE', message: `${name}: ${bad}` };
  const json =
    opts.jsonLookup !== undefined && facts.some((f) => f.dataType === 'longtext')
      ? await opts.jsonLookup(ref.database, ref.table)
      : new Set<string>();
  const columns = facts.map((f) => columnSpecOf(f, json));
  return {
    ...ref,
    shape: { database: ref.database, table: ref.table, columns, primaryKey: keyFacts.map((k) => k.name) },
    select: facts.map((f, i) => `${selectExpression(f)} AS c${i}`),
    key: keyFacts.map((k) => ({ name: k.name, numeric: NUMERIC_KEYS.has(k.dataType) })),
    jsonAliases: new Set(columns.flatMap((c, i) => (c.json ? [`c${i}`] : []))),
    estimatedRows: Number(info.estimate ?? 0),
  };
}

/** Every base table of the server the source's include/exclude patterns capture, in name order. */
export async function capturedTables(conn: Connection, filter: TableFilter): Promise<TableRef[]> {
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN (${SYSTEM_SCHEMAS.map(() => '?').join(', ')}) ORDER BY TABLE_SCHEMA, TABLE_NAME`,
    [...SYSTEM_SCHEMAS],
  );
  return rows
    .map((r) => ({ database: String(r.db), table: String(r.t) }))
    .filter((r) => filter(r.database, r.table));
}
