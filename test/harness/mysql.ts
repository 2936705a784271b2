import { createPool } from 'mysql2/promise';
import type { Pool } from 'mysql2/promise';
import { startMariadb } from '@sluice/embedded';
import type { EmbeddedMariadb, StartMariadbOptions } from '@sluice/embedded';
import { makeTempDir, removeTempDir, trackPid, untrackPid } from './leftovers.js';

/** Options for {@link startMysql}. */
export type TestMysqlOptions = Pick<StartMariadbOptions, 'serverId' | 'initSql' | 'extraArgs'>;

/** A throwaway MariaDB server with row-based binlog, from {@link startMysql}. */
export interface TestMysql {
  readonly host: '127.0.0.1';
  /** TCP port; unchanged by {@link TestMysql.restart}. */
  readonly port: number;
  /** All-privileges URL over TCP; unchanged by {@link TestMysql.restart}. */
  readonly rootUrl: string;
  /** URL of the least-privilege capture user (SELECT, REPLICATION SLAVE, BINLOG MONITOR). */
  readonly captureUrl: string;
  /** The throwaway instance directory. */
  readonly dataDir: string;
  /** The running server; replaced by {@link TestMysql.restart}. */
  readonly server: EmbeddedMariadb;
  /**
   * Runs SQL as root through a small pool (multiple statements allowed) and returns the rows, or the
   * result header for writes.
   */
  query<T = Record<string, unknown>[]>(sql: string, params?: readonly unknown[]): Promise<T>;
  /** SIGKILLs the server, cutting every connection, for fault tests. */
  kill(): Promise<void>;
  /** Stops the server gracefully if it still runs, then starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Closes the pool, stops the server and removes the directory. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts mariadbd on a free port in a fresh temporary directory, for one test.
 * Use as `await using db = await startMysql()`.
 */
export async function startMysql(opts: TestMysqlOptions = {}): Promise<TestMysql> {
  const dataDir = await makeTempDir('mysql');
  let server: EmbeddedMariadb;
  try {
    server = await startMariadb({ dataDir, ...opts });
  } catch (err) {
    await removeTempDir(dataDir);
    throw err;
  }
  trackPid(server.pid);
  const port = server.port;
  let pool: Pool | undefined;

  // The pool's connections die with the server, so kill() and restart() drop it and query() makes a
  // new one against whichever server is running.
  const dropPool = async (): Promise<void> => {
    const old = pool;
    pool = undefined;
    await old?.end().catch(() => undefined);
  };
  const stopServer = async (how: 'stop' | 'kill'): Promise<void> => {
    await dropPool();
    await server[how]();
    untrackPid(server.pid);
  };

  return {
    host: '127.0.0.1',
    port,
    rootUrl: server.rootUrl,
    captureUrl: server.captureUrl,
    dataDir,
    get server() {
      return server;
    },
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<T> {
      pool ??= createPool({ uri: server.rootUrl, connectionLimit: 4, multipleStatements: true });
      const [result] = await pool.query(sql, [...params]);
      return result as T;
    },
    kill: () => stopServer('kill'),
    async restart() {
      await stopServer('stop');
      server = await startMariadb({ dataDir, ...opts, port });
      trackPid(server.pid);
    },
    async [Symbol.asyncDispose]() {
      try {
        await stopServer('stop');
      } finally {
        await removeTempDir(dataDir);
      }
    },
  };
}
