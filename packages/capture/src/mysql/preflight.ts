import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { SluiceError, type ErrorCode } from '@sluice/core';
import { globalPrivileges, missingPrivileges, parseGrants, requiredReplicationPrivileges } from './grants.js';
import { mysqlOptions, redactUrl } from './mysql-url.js';
import {
  accountOf,
  checkSelect,
  excessPrivileges,
  grantSelectStatements,
  revokeStatements,
} from './privileges.js';

/** One thing `sluice doctor` checks on the source server, with how to fix it. */
export interface MysqlCheck {
  /** Short name, e.g. `binlog_format`. */
  readonly name: string;
  readonly ok: boolean;
  /** What the server has (a variable value, the missing privileges, an error message). */
  readonly actual: string;
  /** What sluice needs. */
  readonly expected: string;
  /** The statements or my.cnf lines (one per line) that fix it; empty when `ok` without a warning. */
  readonly fix: string;
  /** The error code `preflight` raises when this check fails. */
  readonly code: ErrorCode;
  /** Set on a passing check that still deserves attention (e.g. privileges beyond what capture needs). */
  readonly warning?: string;
}

/** What the checks need to know about the source beyond the server: the tables it captures. */
export interface MysqlCheckOptions {
  /** The source's `include` patterns (`db`, `db.table`); empty means every schema. @default [] */
  readonly include?: readonly string[];
}

/** What {@link evaluateMysql} judges: read from the server by {@link checkMysql}. */
export interface MysqlFacts {
  readonly version: string;
  /** Global variables by lower-case name; a missing key means the server does not have it. */
  readonly variables: Readonly<Record<string, string>>;
  /** `SHOW GRANTS` lines of the connected account. */
  readonly grants: readonly string[];
  /** `CURRENT_USER()`, e.g. `sluice@%`, for the GRANT statement in a fix. */
  readonly account: string;
}

const CNF = 'my.cnf [mariadbd] (MySQL: [mysqld])';

function variableCheck(
  f: MysqlFacts,
  name: string,
  expected: string,
  code: ErrorCode,
  fix: string,
): MysqlCheck {
  const actual = f.variables[name];
  const ok = actual !== undefined && actual.toUpperCase() === expected;
  return { name, ok, actual: actual ?? '(not supported by this server)', expected, fix: ok ? '' : fix, code };
}

/** Judges the facts of one server; pure, so every rule is unit-tested without a server. */
export function evaluateMysql(f: MysqlFacts, o: MysqlCheckOptions = {}): MysqlCheck[] {
  const isMariaDb = /mariadb/i.test(f.version);
  const metadataFix =
    f.variables.binlog_row_metadata === undefined
      ? `upgrade: binlog_row_metadata needs MariaDB >= 10.5 or MySQL >= 8.0 (server is ${f.version})`
      : `SET GLOBAL binlog_row_metadata = 'FULL'; and in ${CNF}: binlog_row_metadata = FULL`;
  const required = requiredReplicationPrivileges(isMariaDb, f.version);
  const missing = missingPrivileges(globalPrivileges(f.grants), required);
  const account = accountOf(f.account);
  return [
    variableCheck(
      f,
      'log_bin',
      'ON',
      'SLUICE_BINLOG_DISABLED',
      `in ${CNF}: log_bin = mysql-bin and server_id = 1, then restart the server`,
    ),
    variableCheck(
      f,
      'binlog_format',
      'ROW',
      'SLUICE_BINLOG_FORMAT',
      `SET GLOBAL binlog_format = 'ROW'; and in ${CNF}: binlog_format = ROW`,
    ),
    variableCheck(
      f,
      'binlog_row_image',
      'FULL',
      'SLUICE_BINLOG_ROW_IMAGE',
      `SET GLOBAL binlog_row_image = 'FULL'; and in ${CNF}: binlog_row_image = FULL`,
    ),
    variableCheck(f, 'binlog_row_metadata', 'FULL', 'SLUICE_BINLOG_ROW_METADATA', metadataFix),
    {
      name: 'replication privileges',
      ok: missing.length === 0,
      actual: missing.length === 0 ? required.join(', ') : `missing ${missing.join(', ')}`,
      expected: required.join(', '),
      fix: missing.length === 0 ? '' : `GRANT ${missing.join(', ')} ON *.* TO ${account};`,
      code: 'SLUICE_MYSQL_PRIVILEGES',
    },
    ...privilegeChecks(f, o.include ?? [], required, account),
    ...undecodableChecks(f),
  ];
}

// SELECT on the captured schemas (a failure only where include names them), then a warning for
// privileges beyond capture's needs (docs/errors.md, "Reference").
function privilegeChecks(
  f: MysqlFacts,
  include: readonly string[],
  required: readonly string[],
  account: string,
): MysqlCheck[] {
  const grants = parseGrants(f.grants);
  const select = checkSelect(grants, include);
  const excess = excessPrivileges(grants, required, include);
  const describe = excess
    .map((e) => `${[...e.privileges, ...(e.grantOption ? ['GRANT OPTION'] : [])].join(', ')} ON ${e.object}`)
    .join('; ');
  const globalNeeds = include.length === 0 ? [...required, 'SELECT'] : required;
  return [
    {
      name: 'SELECT on captured schemas',
      ok: select.missing.length === 0,
      actual: select.missing.length === 0 ? 'granted' : `missing on ${select.missing.join(', ')}`,
      expected: 'SELECT on every captured schema',
      fix: grantSelectStatements(select.missing, account).join('\n'),
      code: 'SLUICE_MYSQL_PRIVILEGES',
      ...(select.warning !== undefined ? { warning: select.warning } : {}),
    },
    {
      name: 'privileges beyond capture',
      ok: true,
      actual: excess.length === 0 ? 'none' : describe,
      expected: `only ${required.join(', ')} and SELECT`,
      fix: revokeStatements(excess, globalNeeds, account).join('\n'),
      code: 'SLUICE_MYSQL_PRIVILEGES',
      ...(excess.length > 0 ? { warning: `more than capture needs: ${describe}` } : {}),
    },
  ];
}

// MySQL 8 settings that make the server write events zongji cannot decode; checked where the server
// has them (MariaDB has neither).
function undecodableChecks(f: MysqlFacts): MysqlCheck[] {
  const checks: MysqlCheck[] = [];
  const compression = f.variables.binlog_transaction_compression;
  if (compression !== undefined) {
    const ok = compression.toUpperCase() !== 'ON';
    checks.push({
      name: 'binlog_transaction_compression',
      ok,
      actual: compression,
      expected: 'OFF',
      fix: ok
        ? ''
        : `SET GLOBAL binlog_transaction_compression = OFF; and in ${CNF}: binlog_transaction_compression = OFF`,
      code: 'SLUICE_BINLOG_UNSUPPORTED',
    });
  }
  const rowValueOptions = f.variables.binlog_row_value_options;
  if (rowValueOptions !== undefined) {
    const ok = !/PARTIAL_JSON/i.test(rowValueOptions);
    checks.push({
      name: 'binlog_row_value_options',
      ok,
      actual: rowValueOptions === '' ? "''" : rowValueOptions,
      expected: "'' (not PARTIAL_JSON)",
      fix: ok ? '' : `SET GLOBAL binlog_row_value_options = ''; and in ${CNF}: binlog_row_value_options = ''`,
      code: 'SLUICE_BINLOG_UNSUPPORTED',
    });
  }
  return checks;
}

/**
 * Connects to the source and checks everything binlog capture needs: `log_bin=ON`, `binlog_format=ROW`,
 * `binlog_row_image=FULL`, `binlog_row_metadata=FULL`, the replication privileges, SELECT on the
 * captured schemas, no more privileges than that (a warning), and on MySQL 8 no transaction
 * compression or partial JSON updates. Never throws for a failing check: a connection failure is
 * itself the one check returned (`SLUICE_MYSQL_CONNECT`). `binlog_format` and friends are read as
 * GLOBAL values, which is what new sessions (and replication) use.
 */
export async function checkMysql(url: string, o: MysqlCheckOptions = {}): Promise<MysqlCheck[]> {
  let conn: Connection;
  try {
    conn = await createConnection(mysqlOptions(url));
  } catch (err) {
    const e = err as { message?: string; errno?: number };
    // 1045: access denied, the one connect error the user fixes with a GRANT/password rather than networking.
    const fix =
      e.errno === 1045
        ? 'check the user and password in the source url'
        : 'check that the server runs and the url host:port is reachable';
    const connect = {
      name: 'connect',
      ok: false,
      actual: e.message ?? String(err),
      expected: `a connection to ${redactUrl(url)}`,
      fix,
    } as const;
    return [{ ...connect, code: 'SLUICE_MYSQL_CONNECT' }];
  }
  try {
    const facts = await readFacts(conn);
    return [
      {
        name: 'connect',
        ok: true,
        actual: facts.version,
        expected: `a connection to ${redactUrl(url)}`,
        fix: '',
        code: 'SLUICE_MYSQL_CONNECT',
      },
      ...evaluateMysql(facts, o),
    ];
  } finally {
    await conn.end().catch(() => undefined);
  }
}

async function readFacts(conn: Connection): Promise<MysqlFacts> {
  const [[who]] = await conn.query<RowDataPacket[]>('SELECT VERSION() AS version, CURRENT_USER() AS account');
  const [vars] = await conn.query<RowDataPacket[]>(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata', 'binlog_transaction_compression', 'binlog_row_value_options')",
  );
  const [grants] = await conn.query<RowDataPacket[]>('SHOW GRANTS');
  const variables: Record<string, string> = {};
  for (const v of vars) variables[String(v.Variable_name).toLowerCase()] = String(v.Value);
  return {
    version: String(who!.version),
    account: String(who!.account),
    variables,
    grants: grants.map((g) => String(Object.values(g)[0])),
  };
}

/**
 * Runs {@link checkMysql} and throws when anything fails, with the first failing check's code and
 * every failure (and its fix) in the message.
 * @throws SluiceError `SLUICE_MYSQL_CONNECT`, `SLUICE_BINLOG_DISABLED`, `SLUICE_BINLOG_FORMAT`,
 *   `SLUICE_BINLOG_ROW_IMAGE`, `SLUICE_BINLOG_ROW_METADATA`, `SLUICE_MYSQL_PRIVILEGES` or
 *   `SLUICE_BINLOG_UNSUPPORTED`.
 */
export async function preflight(url: string, o: MysqlCheckOptions = {}): Promise<MysqlCheck[]> {
  const checks = await checkMysql(url, o);
  const failed = checks.filter((c) => !c.ok);
  const first = failed[0];
  if (first === undefined) return checks;
  const lines = failed.map((c) => `${c.name}: is ${c.actual}, needs ${c.expected} — fix: ${c.fix}`);
  throw new SluiceError(
    first.code,
    `MySQL source ${redactUrl(url)} is not ready for capture:\n  ${lines.join('\n  ')}`,
    {
      details: { failed: failed.map((c) => ({ name: c.name, code: c.code, actual: c.actual })) },
    },
  );
}
