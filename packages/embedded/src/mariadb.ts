import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { SluiceError } from '@sluice/core';
import { freePort } from './free-port.js';
import {
  describeExit,
  findBinary,
  killServer,
  pollReady,
  readTail,
  spawnServer,
  stopServer,
  waitForExit,
} from './process.js';
import type { EmbeddedServer } from './process.js';

/** Options for {@link startMariadb}. */
export interface StartMariadbOptions {
  /**
   * Directory holding everything of this instance: `data/` (the datadir), the socket, pid file, error
   * log and `sluice-credentials.json`. Created mode 0700 when missing; keep it private, because root
   * logs in over the socket without a password.
   */
  dataDir: string;
  /** TCP port on 127.0.0.1. @default a free port picked at start */
  port?: number;
  /** `server_id`; must differ from the server ids binlog readers use. @default 1 */
  serverId?: number;
  /** How long to wait for the server to accept connections, in milliseconds. @default 30000 */
  readyTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL, in milliseconds. @default 30000 */
  stopTimeoutMs?: number;
  /** SQL statements run as root once, right after the data directory is first initialised. */
  initSql?: readonly string[];
  /**
   * Schemas the capture user may read (`GRANT SELECT ON <schema>.*`), so that it holds only what
   * capture needs. @default every schema (`SELECT ON *.*`)
   */
  captureSchemas?: readonly string[];
  /** Path of the mariadbd executable. @default found in PATH, /usr/sbin or /usr/local/sbin */
  mariadbdBinary?: string;
  /** Path of the mariadb-install-db executable. @default found in PATH, /usr/sbin or /usr/local/sbin */
  installDbBinary?: string;
  /** Extra `mariadbd` options appended last, so they override the defaults. */
  extraArgs?: readonly string[];
}

/** A running throwaway mariadbd with row-based binlog, started by {@link startMariadb}. */
export interface EmbeddedMariadb extends EmbeddedServer {
  readonly host: '127.0.0.1';
  /** TCP port. */
  readonly port: number;
  /** Unix socket path (root logs in here without a password). */
  readonly socket: string;
  /** `mysql://root:<password>@127.0.0.1:<port>`: all privileges, over TCP. */
  readonly rootUrl: string;
  /** `mysql://sluice:<password>@127.0.0.1:<port>`: only SELECT, REPLICATION SLAVE, BINLOG MONITOR. */
  readonly captureUrl: string;
}

/** The least-privilege account that {@link EmbeddedMariadb.captureUrl} logs in as. */
export const EMBEDDED_CAPTURE_USER = 'sluice';

interface InstanceState {
  rootPassword: string;
  capturePassword: string;
  /** Set once `initSql` has run, so a restart does not run it again. */
  initialized: boolean;
}

// Linux sun_path is 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH = 107;

/**
 * Starts a throwaway MariaDB server bound to 127.0.0.1 with `binlog_format=ROW`,
 * `binlog_row_image=FULL` and `binlog_row_metadata=FULL`, initialising `dataDir` on first use.
 * Restarting on the same `dataDir` keeps data, users and passwords.
 *
 * @throws SluiceError `SLUICE_EMBEDDED_BINARY_MISSING` when mariadbd or mariadb-install-db is missing.
 * @throws SluiceError `SLUICE_EMBEDDED_START_FAILED` when initialisation fails, the server exits, or it
 *   is not ready within `readyTimeoutMs`; the message ends with the tail of its log.
 */
export async function startMariadb(opts: StartMariadbOptions): Promise<EmbeddedMariadb> {
  const { mariadbd, installDb } = await findMariadbBinaries(opts);

  // mariadbd resolves some relative paths (pid file, binlog) against the datadir, others against its cwd.
  const dataDir = resolve(opts.dataDir);
  const paths = instancePaths(dataDir);
  if (paths.socket.length > MAX_SOCKET_PATH) {
    throw startFailed(
      `the socket path ${paths.socket} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter dataDir`,
    );
  }
  await mkdir(paths.data, { recursive: true, mode: 0o700 });
  // A second server on the same datadir fails on InnoDB's lock with a log only an expert reads.
  if (await pingSocket(paths.socket).catch(() => false))
    throw new SluiceError(
      'SLUICE_EMBEDDED_IN_USE',
      `a mariadbd already runs on ${dataDir} (socket ${paths.socket}): stop the other "sluice up" or ` +
        'close the "sluice db" session that started it',
      { details: { dataDir, socket: paths.socket } },
    );
  const fresh = (await readdir(paths.data)).length === 0;
  // A data directory that was not initialised here (no credentials file yet) already has its schemas,
  // so initSql is for fresh directories only.
  const state = await loadOrCreateState(paths.state, !fresh);
  if (fresh) {
    state.initialized = false;
    await installDataDir(installDb, paths);
  }

  const port = opts.port ?? (await freePort());
  const args = mariadbdArgs(paths, port, opts);
  const server = await spawnServer(mariadbd, args, paths.log);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const { state: outcome, lastError } = await pollReady(
    server,
    () => pingSocket(paths.socket),
    readyTimeoutMs,
  );
  const pid = server.child.pid;
  if (outcome !== 'ready' || pid === undefined) {
    await killServer(server).catch(() => undefined);
    const why =
      outcome === 'timeout' ? `was not ready within ${readyTimeoutMs} ms` : describeExit(server.exit());
    const last = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
    throw startFailed(
      `mariadbd on 127.0.0.1:${port} ${why}${last}; last lines of ${paths.log}:\n${await readTail(paths.log)}`,
    );
  }

  try {
    await bootstrap(paths, state, opts.initSql ?? [], opts.captureSchemas);
  } catch (err) {
    await stopServer(server, 10_000).catch(() => undefined);
    throw startFailed(`could not create the sluice users or run initSql: ${(err as Error).message}`, err);
  }

  const stopTimeoutMs = opts.stopTimeoutMs ?? 30_000;
  const stop = (): Promise<void> => stopServer(server, stopTimeoutMs);
  return {
    host: '127.0.0.1',
    port,
    socket: paths.socket,
    pid,
    dataDir,
    logFile: paths.log,
    rootUrl: `mysql://root:${encodeURIComponent(state.rootPassword)}@127.0.0.1:${port}`,
    captureUrl: `mysql://${EMBEDDED_CAPTURE_USER}:${encodeURIComponent(state.capturePassword)}@127.0.0.1:${port}`,
    stop,
    kill: () => killServer(server),
    [Symbol.asyncDispose]: stop,
  };
}

async function findMariadbBinaries(
  opts: StartMariadbOptions,
): Promise<{ mariadbd: string; installDb: string }> {
  const [mariadbd, installDb] = await Promise.all([
    findBinary(['mariadbd'], opts.mariadbdBinary),
    findBinary(['mariadb-install-db'], opts.installDbBinary),
  ]);
  if (mariadbd === undefined || installDb === undefined) {
    const [name, explicit] =
      mariadbd === undefined
        ? ['mariadbd', opts.mariadbdBinary]
        : ['mariadb-install-db', opts.installDbBinary];
    throw new SluiceError(
      'SLUICE_EMBEDDED_BINARY_MISSING',
      `${name} not found${explicit ? ` at ${explicit}` : ' in PATH, /usr/sbin or /usr/local/sbin'}; ` +
        'install it with `apt-get install mariadb-server` (Debian/Ubuntu)',
      { details: { binary: explicit ?? name, package: 'mariadb-server' } },
    );
  }
  return { mariadbd, installDb };
}

function mariadbdArgs(paths: InstancePaths, port: number, opts: StartMariadbOptions): string[] {
  return [
    '--no-defaults', // must come first: never read /etc/mysql, which configures the system server
    ...runAsArgs(),
    `--datadir=${paths.data}`,
    `--socket=${paths.socket}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--pid-file=${paths.pid}`,
    `--log-error=${paths.log}`,
    `--server-id=${opts.serverId ?? 1}`,
    `--log-bin=${join(paths.data, 'bin')}`,
    '--binlog-format=ROW',
    '--binlog-row-image=FULL',
    '--binlog-row-metadata=FULL',
    // Host matching by address only: no DNS lookups, and `user`@`127.0.0.1` is the account a TCP login uses.
    '--skip-name-resolve',
    // The 96 MiB default redo log is written out in full for every throwaway instance.
    '--innodb-log-file-size=32M',
    ...(opts.extraArgs ?? []),
  ];
}

interface InstancePaths {
  data: string;
  socket: string;
  pid: string;
  log: string;
  installLog: string;
  state: string;
}

function instancePaths(dataDir: string): InstancePaths {
  return {
    data: join(dataDir, 'data'),
    socket: join(dataDir, 'mariadbd.sock'),
    pid: join(dataDir, 'mariadbd.pid'),
    log: join(dataDir, 'mariadbd.err'),
    installLog: join(dataDir, 'install-db.log'),
    state: join(dataDir, 'sluice-credentials.json'),
  };
}

// mariadbd refuses to run as root unless told to with --user=root; as anyone else --user is ignored
// with a warning, so it is passed only when needed.
function runAsArgs(): string[] {
  return process.getuid?.() === 0 ? ['--user=root'] : [];
}

function startFailed(message: string, cause?: unknown): SluiceError {
  return new SluiceError('SLUICE_EMBEDDED_START_FAILED', message, { cause });
}

async function loadOrCreateState(file: string, initialized: boolean): Promise<InstanceState> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as InstanceState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw startFailed(`cannot read ${file}`, err);
  }
  const state: InstanceState = {
    rootPassword: randomBytes(18).toString('hex'),
    capturePassword: randomBytes(18).toString('hex'),
    initialized,
  };
  await writeFile(file, JSON.stringify(state, null, 2), { mode: 0o600 });
  return state;
}

async function installDataDir(installDb: string, paths: InstancePaths): Promise<void> {
  const args = [
    '--no-defaults',
    ...runAsArgs(),
    `--datadir=${paths.data}`,
    // "normal" leaves root@localhost, root@127.0.0.1, root@::1 and root@<hostname> without a password;
    // bootstrap() then gives the TCP accounts one.
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    '--innodb-log-file-size=32M',
  ];
  const server = await spawnServer(installDb, args, paths.installLog);
  const timeoutMs = 60_000;
  const finished = await waitForExit(server, timeoutMs);
  if (!finished) await killServer(server).catch(() => undefined);
  const exit = server.exit();
  if (!finished || exit?.code !== 0) {
    const why = finished ? describeExit(exit) : `did not finish within ${timeoutMs} ms`;
    throw startFailed(
      `mariadb-install-db ${why}; last lines of ${paths.installLog}:\n${await readTail(paths.installLog)}`,
    );
  }
}

async function pingSocket(socketPath: string): Promise<boolean> {
  const conn = await createConnection({ socketPath, user: 'root', connectTimeout: 2_000 });
  try {
    await conn.query('SELECT 1');
    return true;
  } finally {
    await conn.end();
  }
}

async function bootstrap(
  paths: InstancePaths,
  state: InstanceState,
  initSql: readonly string[],
  captureSchemas: readonly string[] | undefined,
): Promise<void> {
  const conn = await createConnection({ socketPath: paths.socket, user: 'root', connectTimeout: 5_000 });
  try {
    // Account maintenance runs on every start (it also repairs hand-edited users) and stays out of
    // the binlog, so a capture reading from the start sees only application changes and initSql.
    await conn.query('SET SESSION sql_log_bin = 0');
    for (const host of ['127.0.0.1', '::1']) {
      await conn.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', ['root', host, state.rootPassword]);
      await conn.query('ALTER USER ?@? IDENTIFIED BY ?', ['root', host, state.rootPassword]);
      await conn.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', ['root', host]);
    }
    const capture = [EMBEDDED_CAPTURE_USER, '127.0.0.1'];
    await conn.query('CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?', [...capture, state.capturePassword]);
    await conn.query('ALTER USER ?@? IDENTIFIED BY ?', [...capture, state.capturePassword]);
    await conn.query('GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO ?@?', capture);
    if (captureSchemas === undefined) await conn.query('GRANT SELECT ON *.* TO ?@?', capture);
    else {
      // Least privilege, as sluice doctor asks of every capture user (docs/errors.md#least-privilege).
      await conn.query('REVOKE SELECT ON *.* FROM ?@?', capture);
      for (const schema of captureSchemas)
        await conn.query(`GRANT SELECT ON ${quoteIdentifier(schema)}.* TO ?@?`, capture);
    }
    await conn.query('SET SESSION sql_log_bin = 1');
    if (!state.initialized) {
      for (const sql of initSql) await conn.query(sql);
      state.initialized = true;
      await writeFile(paths.state, JSON.stringify(state, null, 2), { mode: 0o600 });
    }
  } finally {
    await conn.end();
  }
}

function quoteIdentifier(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/** The unix socket of the embedded mariadbd whose `dataDir` (as given to {@link startMariadb}) is this. */
export function mariadbSocket(dataDir: string): string {
  return instancePaths(resolve(dataDir)).socket;
}

/** True when a mariadbd answers as root on the socket of `dataDir`. */
export async function mariadbAnswers(dataDir: string): Promise<boolean> {
  return pingSocket(mariadbSocket(dataDir)).catch(() => false);
}
