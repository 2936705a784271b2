import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { SluiceError, type ErrorCode } from '@sluice/core';
import { globalPrivileges, missingPrivileges, requiredReplicationPrivileges } from './grants.js';
import { mysqlOptions, redactUrl } from './mysql-url.js';

/** One thing `sluice doctor` checks on the source server, with how to fix it. */
export interface MysqlCheck {
  /** Short name, e.g. `binlog_format`. */
  readonly name: string;
  readonly ok: boolean;
  /** What the server has (a variable value, the missing privileges, an error message). */
  readonly actual: string;
  /** What sluice needs. */
  readonly expected: string;
  /** The statement or my.cnf line that fixes it; empty when `ok`. */
  readonly fix: string;
  /** The error code `preflight` raises when this check fails. */
  readonly code: ErrorCode;
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
export function evaluateMysql(f: MysqlFacts): MysqlCheck[] {
  const isMariaDb = /mariadb/i.test(f.version);
  const metadataFix =
    f.variables.binlog_row_metadata === undefined
      ? `upgrade: binlog_row_metadata needs MariaDB >= 10.5 or MySQL >= 8.0 (server is ${f.version})`
      : `SET GLOBAL binlog_row_metadata = 'FULL'; and in ${CNF}: binlog_row_metadata = FULL`;
  const required = requiredReplicationPrivileges(isMariaDb, f.version);
  const missing = missingPrivileges(globalPrivileges(f.grants), required);
  const [user = '', host = '%'] = f.account.split('@');
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
      fix: missing.length === 0 ? '' : `GRANT ${missing.join(', ')} ON *.* TO '${user}'@'${host}';`,
      code: 'SLUICE_MYSQL_PRIVILEGES',
    },
  ];
}

/**
 * Connects to the source and checks everything binlog capture needs: `log_bin=ON`, `binlog_format=ROW`,
 * `binlog_row_image=FULL`, `binlog_row_metadata=FULL` and the replication privileges. Never throws for a
 * failing check: a connection failure is itself the one check returned (`SLUICE_MYSQL_CONNECT`).
 * `binlog_format` and friends are read as GLOBAL values, which is what new sessions (and replication) use.
 */
export async function checkMysql(url: string): Promise<MysqlCheck[]> {
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
      ...evaluateMysql(facts),
    ];
  } finally {
    await conn.end().catch(() => undefined);
  }
}

async function readFacts(conn: Connection): Promise<MysqlFacts> {
  const [[who]] = await conn.query<RowDataPacket[]>('SELECT VERSION() AS version, CURRENT_USER() AS account');
  const [vars] = await conn.query<RowDataPacket[]>(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata')",
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
 *   `SLUICE_BINLOG_ROW_IMAGE`, `SLUICE_BINLOG_ROW_METADATA` or `SLUICE_MYSQL_PRIVILEGES`.
 */
export async function preflight(url: string): Promise<MysqlCheck[]> {
  const checks = await checkMysql(url);
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
