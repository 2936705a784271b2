import { Objm } from '@nats-io/obj';
import { describe, expect, it } from 'vitest';
import { decodeEvent, mysqlSources, oversizeBucket, type CloudEvent, type RowChange } from '@sluice/core';
import { recordingLogger, startMysql, startNats, uniqueName, waitFor } from '@sluice/test-harness';
import { BinlogCapture } from '../src/binlog/binlog-capture.js';
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

  it('stores an event larger than max_payload in the oversize object store and publishes a reference in its place', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    const nc = await nats.connect();
    const schema = uniqueName('big');
    await db.query(`CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY, b LONGBLOB)`);
    const config = testConfig(nats, db, { source: { include: [schema] } });
    const { checkpoints } = await provision(nc, config);
    const { logger, records } = recordingLogger();
    const source = mysqlSources(config)[0]!;
    const capture = new BinlogCapture({
      source: { ...source, url: source.url! },
      nats: config.nats,
      capture: config.capture,
      nc,
      checkpoints,
      logger,
    });
    await capture.start();
    const MiB = 1024 * 1024;
    await db.query(`BEGIN; INSERT INTO ${schema}.t VALUES (1, 'small');
      INSERT INTO ${schema}.t VALUES (2, REPEAT('x', ${2 * MiB})); INSERT INTO ${schema}.t VALUES (3, 'small'); COMMIT;
      UPDATE ${schema}.t SET b = REPEAT('y', ${MiB}) WHERE id = 2; INSERT INTO ${schema}.t VALUES (4, 'after');`);
    const events = (await waitForEvents(nc, config, 5)).map((e) => e.event);
    await capture.stop();
    await expect(capture.done).resolves.toBeUndefined(); // never a crash, never a crash loop
    // Binlog order kept: the references sit where the rows were, the rows after them follow.
    expect(events.map((e) => `${e.subject}.${e.data.op}`)).toEqual([
      '1.insert',
      '2.insert',
      '3.insert',
      '2.update',
      '4.insert',
    ]);
    const bucket = oversizeBucket(config.nats);
    const store = await new Objm(nc).open(bucket);
    const [insert, update] = [events[1]!, events[3]!];
    for (const [ref, images] of [
      [insert, { before: null, after: 2 * MiB }],
      [update, { before: 2 * MiB, after: MiB }],
    ] as const) {
      const blob = await store.getBlob(ref.id);
      expect(blob).not.toBeNull();
      expect(ref.data).toEqual({
        op: ref.data.op,
        database: schema,
        table: 't',
        primaryKey: ['id'],
        sluiceoversize: { bytes: blob!.byteLength, bucket, key: ref.id },
      });
      // The stored event is the one that would have been published: same id and attributes, full data.
      const full = decodeEvent(blob!) as CloudEvent<RowChange>;
      expect({ ...full, data: ref.data }).toEqual(ref);
      const size = (img: Record<string, unknown> | null) =>
        img === null ? null : Buffer.from(img.b as string, 'base64').length;
      expect({ before: size(full.data.before), after: size(full.data.after) }).toEqual(images);
    }
    expect(insert).toMatchObject({ sluicetxindex: 1 });
    expect(insert).not.toHaveProperty('sluicetxlast');
    expect(events[2]).toMatchObject({ sluicetxindex: 2, sluicetxlast: true, sluicetxcount: 3 });
    expect(update).toMatchObject({ sluicetxindex: 0, sluicetxlast: true, sluicetxcount: 1 });
    expect(capture.stats().oversizeEvents).toBe(2);
    const logged = records.filter((r) => r.code === 'SLUICE_PUBLISH_TOO_LARGE');
    expect(logged.map((r) => [r.level, r.eventId])).toEqual([
      [50, insert.id],
      [50, update.id],
    ]);
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
