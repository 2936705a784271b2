import { describe, expect, it } from 'vitest';
import { startMysql, startNats, uniqueName, waitFor } from '../../../test/harness/index.js';
import { provision, readEvents, startCapture, testConfig, waitForEvents } from './helpers.js';

describe('faults', () => {
  it('restarts from the checkpoint when PubAcks are lost to a NATS restart, storing each row once', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    const nc = await nats.connect({ maxReconnectAttempts: -1, reconnectTimeWait: 50 });
    const schema = uniqueName('natsdown');
    await db.query(`CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY)`);
    const config = testConfig(nats, db, {
      capture: { publishTimeoutMs: 500 },
      source: { include: [schema] },
    });
    const { checkpoints } = await provision(nc, config);
    await using capture = await startCapture(nc, config, checkpoints);

    await db.query(`INSERT INTO ${schema}.t VALUES (1), (2)`);
    await waitForEvents(nc, config, 2);
    await nats.kill();
    // Written while the broker is down: published into the void, never acked, so never checkpointed.
    await db.query(`INSERT INTO ${schema}.t VALUES (3), (4); INSERT INTO ${schema}.t VALUES (5)`);
    await waitFor(() => capture.stats().reconnects >= 1, {
      timeoutMs: 15_000,
      message: 'capture restarted its session',
    });
    await nats.restart();
    await waitForEvents(nc, config, 5, 20_000);
    await capture.stop();
    const events = await readEvents(nc, config);
    expect(events.map((e) => e.event.subject)).toEqual(['1', '2', '3', '4', '5']);
  });

  it('fails loud with SLUICE_PUBLISH_TOO_LARGE for a row bigger than max_payload', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    const nc = await nats.connect();
    const schema = uniqueName('big');
    await db.query(`CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY, b LONGBLOB)`);
    const config = testConfig(nats, db, { source: { include: [schema] } });
    const { checkpoints } = await provision(nc, config);
    const capture = await startCapture(nc, config, checkpoints);
    await db.query(`INSERT INTO ${schema}.t VALUES (1, REPEAT('x', 2 * 1024 * 1024))`);
    await expect(capture.done).rejects.toMatchObject({ code: 'SLUICE_PUBLISH_TOO_LARGE' });
    await capture.stop();
  });

  it('fails with SLUICE_BINLOG_POSITION_PURGED when the checkpoint is older than every binlog', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    const nc = await nats.connect();
    const config = testConfig(nats, db);
    const { checkpoints } = await provision(nc, config);
    const schema = uniqueName('purged');
    // Transactions 0-1-1 … 0-1-3 go to a binlog that is then purged; a checkpoint at 0-1-1 needs them.
    await db.query(
      `CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT); INSERT INTO ${schema}.t VALUES (1); FLUSH BINARY LOGS`,
    );
    const last = (await db.query<{ Log_name: string }[]>('SHOW BINARY LOGS')).at(-1)!.Log_name;
    // MariaDB silently keeps a file until its binlog checkpoint (InnoDB durability) has passed it.
    await waitFor(
      async () => {
        await db.query(`PURGE BINARY LOGS TO '${last}'`);
        return (await db.query<unknown[]>('SHOW BINARY LOGS')).length === 1;
      },
      { message: 'old binlogs purged' },
    );
    await checkpoints.put(
      'src1',
      JSON.stringify({ gtid: '0-1-1', file: 'bin.000001', pos: 4, updatedAt: new Date().toISOString() }),
    );
    const capture = await startCapture(nc, config, checkpoints);
    await expect(capture.done).rejects.toMatchObject({ code: 'SLUICE_BINLOG_POSITION_PURGED' });
    await capture.stop();
  });
});
