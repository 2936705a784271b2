import { describe, expect, it } from 'vitest';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { buildConfig, mysqlSources, openCheckpoints, type Config, type Logger } from '@sluice/core';
import {
  recordingLogger,
  spawnSluice,
  startMysql,
  startNats,
  type TestMysql,
  uniqueName,
  waitFor,
} from '@sluice/test-harness';
import { BinlogCapture } from '../src/binlog/binlog-capture.js';
import { provision, readEvents, testConfig, waitForEvents } from './helpers.js';

/** A capture of the config's first source with its own logger; dispose stops it. */
function newCapture(
  config: Config,
  nc: NatsConnection,
  o: { checkpoints: KV; logger: Logger },
): BinlogCapture & AsyncDisposable {
  const source = mysqlSources(config)[0]!;
  const capture = new BinlogCapture({
    source: { ...source, url: source.url! },
    nats: config.nats,
    capture: config.capture,
    nc,
    ...o,
  });
  return Object.assign(capture, { [Symbol.asyncDispose]: () => capture.stop() });
}

async function binlogs(db: TestMysql): Promise<string[]> {
  return (await db.query<{ Log_name: string }[]>('SHOW BINARY LOGS')).map((r) => r.Log_name);
}

/** PURGE BINARY LOGS TO `file`, repeated until done: MariaDB keeps a file until its binlog checkpoint passed it. */
async function purgeTo(db: TestMysql, file: string): Promise<void> {
  await waitFor(
    async () => {
      await db.query(`PURGE BINARY LOGS TO '${file}'`);
      return (await binlogs(db))[0] === file;
    },
    { timeoutMs: 30_000, message: `binlogs purged up to ${file}` },
  );
}

describe('binlog retention guard', () => {
  it('warns with SLUICE_BINLOG_RETENTION_LOW when the checkpoint file is next to be purged, and clears when capture moves on', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    const nc = await nats.connect();
    const schema = uniqueName('keep');
    await db.query(`CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY)`);
    await db.query('FLUSH BINARY LOGS; FLUSH BINARY LOGS');
    const config = testConfig(nats, db, {
      capture: { retentionCheckIntervalMs: 100 },
      source: { include: [schema] },
    });
    const { checkpoints } = await provision(nc, config);
    const { logger, records } = recordingLogger();
    await using capture = newCapture(config, nc, { checkpoints, logger });
    await capture.start();

    await db.query(`INSERT INTO ${schema}.t VALUES (1)`);
    const cpFile = (await binlogs(db)).at(-1)!;
    await waitFor(() => capture.stats().retention?.checkpointFile === cpFile, {
      timeoutMs: 30_000,
      message: 'retention checked against the first checkpoint',
    });
    expect(capture.stats().retention).toMatchObject({
      oldestBinlog: (await binlogs(db))[0],
      newestBinlog: cpFile,
      filesOlder: 2,
      filesBehind: 0,
      retentionHeadroomMs: null,
      low: false,
    });

    // Rotations with no transaction after them leave the checkpoint in a closed file; with a day of
    // expiry, its headroom counts from the rotate event capture read at the end of that file.
    await db.query('SET GLOBAL binlog_expire_logs_seconds = 86400');
    await db.query('FLUSH BINARY LOGS; FLUSH BINARY LOGS; FLUSH BINARY LOGS');
    await waitFor(
      () => {
        const r = capture.stats().retention;
        return r?.filesBehind === 3 && r.retentionHeadroomMs !== null;
      },
      {
        timeoutMs: 30_000,
        message: 'retention checked after the rotations',
      },
    );
    const closed = capture.stats().retention!;
    expect(closed).toMatchObject({ checkpointFile: cpFile, filesOlder: 2, filesBehind: 3, low: false });
    expect(closed.expireSeconds).toBe(86_400);
    expect(closed.retentionHeadroomMs).toBeGreaterThan(6 * 3600_000); // the default margin
    expect(closed.retentionHeadroomMs).toBeLessThanOrEqual(86_400_000);
    expect(records.filter((r) => r.code === 'SLUICE_BINLOG_RETENTION_LOW')).toEqual([]);

    await purgeTo(db, cpFile);
    await waitFor(() => records.some((r) => r.code === 'SLUICE_BINLOG_RETENTION_LOW'), {
      timeoutMs: 30_000,
      message: 'SLUICE_BINLOG_RETENTION_LOW logged',
    });
    const warning = records.find((r) => r.code === 'SLUICE_BINLOG_RETENTION_LOW')!;
    expect(warning).toMatchObject({ level: 40, checkpointFile: cpFile, oldestBinlog: cpFile, filesOlder: 0 });
    expect(capture.stats().retention).toMatchObject({ filesOlder: 0, filesBehind: 3, low: true });

    // A transaction moves the checkpoint into the file being written: out of danger.
    await db.query(`INSERT INTO ${schema}.t VALUES (2)`);
    await waitFor(() => capture.stats().retention?.low === false, {
      timeoutMs: 30_000,
      message: 'retention no longer low',
    });
    expect(capture.stats().retention).toMatchObject({
      checkpointFile: (await binlogs(db)).at(-1),
      filesBehind: 0,
    });
    expect(records.filter((r) => r.code === 'SLUICE_BINLOG_RETENTION_LOW')).toHaveLength(1);
  }, 120_000);

  it('stays quiet after a server restart while binlog expiry is off, and warns once it is on', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    const nc = await nats.connect();
    const schema = uniqueName('restart');
    await db.query(`CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY)`);
    const config = testConfig(nats, db, {
      capture: { retentionCheckIntervalMs: 100 },
      source: { include: [schema] },
    });
    const { checkpoints } = await provision(nc, config);
    const { logger, records } = recordingLogger();
    await using capture = newCapture(config, nc, { checkpoints, logger });
    await capture.start();
    await db.query(`INSERT INTO ${schema}.t VALUES (1)`);
    const cpFile = (await binlogs(db)).at(-1)!;
    await waitForEvents(nc, config, 1);

    // The restart rotates the binlog; with no transaction since, the checkpoint stays in the old file,
    // now closed and the oldest. MariaDB's default expiry is 0: nothing will purge it.
    await db.restart();
    await waitFor(
      () => {
        const r = capture.stats().retention;
        return capture.stats().reconnects >= 1 && r?.checkpointFile === cpFile && r.filesBehind >= 1;
      },
      { timeoutMs: 60_000, message: 'retention checked after the restart' },
    );
    expect(capture.stats().retention).toMatchObject({ filesOlder: 0, expireSeconds: 0, low: false });
    expect(records.filter((r) => r.code === 'SLUICE_BINLOG_RETENTION_LOW')).toEqual([]);

    // With expiry on, the same file is next in line to be purged.
    await db.query('SET GLOBAL binlog_expire_logs_seconds = 86400');
    await waitFor(() => records.some((r) => r.code === 'SLUICE_BINLOG_RETENTION_LOW'), {
      timeoutMs: 30_000,
      message: 'SLUICE_BINLOG_RETENTION_LOW logged once expiry is on',
    });
    expect(capture.stats().retention).toMatchObject({
      checkpointFile: cpFile,
      expireSeconds: 86_400,
      low: true,
    });
  }, 120_000);

  it('sluice capture exits non-zero with SLUICE_BINLOG_POSITION_PURGED when the checkpoint was purged', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    const nc = await nats.connect();
    const schema = uniqueName('gone');
    await db.query(
      `CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT); INSERT INTO ${schema}.t VALUES (1)`,
    );
    await db.query('FLUSH BINARY LOGS');
    await purgeTo(db, (await binlogs(db)).at(-1)!);
    const config = {
      nats: { url: nats.url, prefix: uniqueName('cli'), partitions: 4 },
      logging: { level: 'info' },
      // A lease that outlives the test's deadline: the process must not wait for it to run out.
      capture: { reconnectMinMs: 50, reconnectMaxMs: 500, leaseTtlMs: 300_000 },
      sources: [{ id: 'src1', url: db.captureUrl, serverId: 4000 + Math.floor(Math.random() * 1e6) }],
    };
    const checkpoints = await openCheckpoints(nc, buildConfig(JSON.stringify(config), {}).nats);
    // A checkpoint inside the purged file, as a capturer stopped before the purge would have left it.
    await checkpoints.put(
      'src1',
      JSON.stringify({ gtid: '0-1-1', file: 'bin.000001', pos: 4, updatedAt: new Date().toISOString() }),
    );
    await using sluice = await spawnSluice(['capture'], { config });
    await waitFor(() => sluice.child.exitCode !== null || sluice.child.signalCode !== null, {
      timeoutMs: 60_000,
      message: `sluice capture exited\n${sluice.stderr().slice(-2000)}`,
    });
    expect(await sluice.exited).toBe(1);
    expect(sluice.stderr()).toContain('SLUICE_BINLOG_POSITION_PURGED');
  }, 120_000);
});

describe('binlog connection killed on the server', () => {
  it('reconnects after KILL of the Binlog Dump thread and stores every row once', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    const nc = await nats.connect();
    const schema = uniqueName('kill');
    await db.query(`CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY, v VARCHAR(20))`);
    const base = testConfig(nats, db, {
      // The session comes back more than a second after the kill, past the dedupe window below, and
      // its checkpoint lags: any row it published again would be stored twice.
      capture: {
        reconnectMinMs: 2_500,
        reconnectMaxMs: 3_000,
        checkpointIntervalMs: 1_000,
        publishWindow: 64,
      },
      source: { include: [schema] },
    });
    const config: Config = { ...base, nats: { ...base.nats, duplicateWindowMs: 1_000 } };
    const { checkpoints } = await provision(nc, config);
    const { logger } = recordingLogger();
    await using capture = newCapture(config, nc, { checkpoints, logger });
    await capture.start();

    const TXS = 200;
    const PER_TX = 5;
    let written = 0;
    let killed = false;
    const writer = (async () => {
      for (let t = 0; t < TXS; t++) {
        // Hold half-way until the kill, so that it lands with rows before and after it.
        if (t === TXS / 2) await waitFor(() => killed, { timeoutMs: 60_000, message: 'dump thread killed' });
        const values = Array.from({ length: PER_TX }, (_, r) => `(${t * PER_TX + r + 1}, 'row')`).join(', ');
        await db.query(`INSERT INTO ${schema}.t VALUES ${values}`);
        written++;
      }
    })();
    await waitForEvents(nc, config, (TXS / 4) * PER_TX, 60_000);
    const [dump] = await db.query<{ ID: number }[]>(
      "SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'",
    );
    expect(dump).toBeDefined();
    await db.query(`KILL ${dump!.ID}`);
    killed = true;
    await writer;
    expect(written).toBe(TXS);
    await waitFor(() => capture.stats().reconnects >= 1, { timeoutMs: 60_000, message: 'a reconnect' });
    await waitForEvents(nc, config, TXS * PER_TX, 90_000);
    await capture.stop();

    const events = await readEvents(nc, config);
    expect(events).toHaveLength(TXS * PER_TX);
    expect(new Set(events.map((e) => e.event.id)).size).toBe(TXS * PER_TX);
    const keys = events.map((e) => Number(e.event.subject)).sort((a, b) => a - b);
    expect(keys).toEqual(Array.from({ length: TXS * PER_TX }, (_, i) => i + 1));
    // Every transaction's last event is marked, once.
    const lasts = events.filter((e) => e.event.sluicetxlast === true);
    expect(lasts).toHaveLength(TXS);
    expect(lasts.every((e) => e.event.sluicetxcount === PER_TX && e.event.sluicetxindex === PER_TX - 1)).toBe(
      true,
    );
  }, 180_000);
});
