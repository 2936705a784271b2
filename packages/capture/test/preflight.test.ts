import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startMariadb, type EmbeddedMariadb } from '@sluice/embedded';
import {
  makeTempDir,
  removeTempDir,
  startMysql,
  startNats,
  uniqueName,
  type TestMysql,
} from '@sluice/test-harness';
import { checkMysql, preflight } from '../src/mysql/preflight.js';
import { provision, startCapture, testConfig } from './helpers.js';

let db: TestMysql;

beforeAll(async () => {
  db = await startMysql();
});

afterAll(async () => {
  await db?.[Symbol.asyncDispose]();
});

describe('preflight', () => {
  it('passes for the least-privilege capture user on a correctly configured server', async () => {
    const checks = await preflight(db.captureUrl);
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['connect', true],
      ['log_bin', true],
      ['binlog_format', true],
      ['binlog_row_image', true],
      ['binlog_row_metadata', true],
      ['replication privileges', true],
      ['SELECT on captured schemas', true],
      ['privileges beyond capture', true],
    ]);
    expect(checks.filter((c) => c.warning !== undefined)).toEqual([]);
  });

  it('rejects a server started with binlog_format=STATEMENT and no row metadata, naming every fix', async () => {
    const dataDir = await makeTempDir('mysql-stmt');
    const server: EmbeddedMariadb = await startMariadb({
      dataDir,
      extraArgs: ['--binlog-format=STATEMENT', '--binlog-row-metadata=NO_LOG'],
    });
    try {
      const checks = await checkMysql(server.captureUrl);
      const failed = checks.filter((c) => !c.ok);
      expect(failed.map((c) => [c.code, c.actual])).toEqual([
        ['SLUICE_BINLOG_FORMAT', 'STATEMENT'],
        ['SLUICE_BINLOG_ROW_METADATA', 'NO_LOG'],
      ]);
      expect(failed[0]!.fix).toContain("SET GLOBAL binlog_format = 'ROW'");
      const err = await preflight(server.captureUrl).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'SluiceError', code: 'SLUICE_BINLOG_FORMAT' });
      expect((err as Error).message).toMatch(/binlog_row_metadata: is NO_LOG, needs FULL/);
    } finally {
      await server.stop();
      await removeTempDir(dataDir);
    }
  });

  it('reports binlog_row_metadata alone with its own code', async () => {
    await db.query("SET GLOBAL binlog_row_metadata = 'MINIMAL'");
    try {
      await expect(preflight(db.captureUrl)).rejects.toMatchObject({ code: 'SLUICE_BINLOG_ROW_METADATA' });
    } finally {
      await db.query("SET GLOBAL binlog_row_metadata = 'FULL'");
    }
  });

  it('rejects a user without replication grants and prints the GRANT that fixes it', async () => {
    const user = uniqueName('u');
    await db.query(
      `CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT SELECT ON *.* TO '${user}'@'127.0.0.1'`,
    );
    const url = `mysql://${user}:pw@127.0.0.1:${db.port}`;
    const checks = await checkMysql(url);
    expect(checks.find((c) => !c.ok)).toMatchObject({
      code: 'SLUICE_MYSQL_PRIVILEGES',
      actual: 'missing REPLICATION SLAVE, BINLOG MONITOR',
      fix: `GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '${user}'@'127.0.0.1';`,
    });
    await expect(preflight(url)).rejects.toMatchObject({ code: 'SLUICE_MYSQL_PRIVILEGES' });
  });

  it('maps connection failures to SLUICE_MYSQL_CONNECT', async () => {
    const badPassword = db.captureUrl.replace(/:[^:@/]+@/, ':wrong@');
    await expect(preflight(badPassword)).rejects.toMatchObject({ code: 'SLUICE_MYSQL_CONNECT' });
    const [check] = await checkMysql(`mysql://sluice:x@127.0.0.1:${await freePort()}`);
    expect(check).toMatchObject({ name: 'connect', ok: false, code: 'SLUICE_MYSQL_CONNECT' });
  });

  it('keeps BinlogCapture from starting against a misconfigured server', async () => {
    await using nats = await startNats();
    const nc = await nats.connect();
    const config = testConfig(nats, db);
    const { checkpoints } = await provision(nc, config);
    await db.query("SET GLOBAL binlog_format = 'MIXED'");
    try {
      await expect(startCapture(nc, config, checkpoints)).rejects.toMatchObject({
        code: 'SLUICE_BINLOG_FORMAT',
      });
    } finally {
      await db.query("SET GLOBAL binlog_format = 'ROW'");
    }
  });
});
