import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkpointsBucket } from '@sluice/core';
import { Kvm } from '@nats-io/kv';
import { startMysql, startNats, uniqueName, waitFor } from '@sluice/test-harness';
import { loadCheckpoint } from '../src/resume/checkpoint-store.js';
import {
  provision,
  readEvents,
  startCapture,
  testConfig,
  waitForEvents,
  type StoredEvent,
} from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/capture-child.mjs', import.meta.url));
const TRANSACTIONS = 400;
const ROWS_PER_TX = 10;

function expectEveryRowOnce(events: readonly StoredEvent[], total: number): void {
  const ids = events.map((e) => e.event.id);
  expect(new Set(ids).size).toBe(ids.length); // no id stored twice
  const keys = events.map((e) => Number(e.event.subject)).sort((a, b) => a - b);
  expect(keys).toEqual(Array.from({ length: total }, (_, i) => i + 1)); // every row exactly once
}

async function insertRows(
  query: (sql: string) => Promise<unknown>,
  table: string,
  fromTx: number,
  toTx: number,
): Promise<void> {
  for (let t = fromTx; t < toTx; t++) {
    const values = Array.from({ length: ROWS_PER_TX }, (_, r) => `(${t * ROWS_PER_TX + r + 1}, 'row')`).join(
      ', ',
    );
    await query(`INSERT INTO ${table} VALUES ${values}`);
  }
}

describe('crash and resume', () => {
  it('after a SIGKILL mid-stream, a new capturer stores every row exactly once', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    const nc = await nats.connect();
    const schema = uniqueName('crash');
    await db.query(`CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY, v VARCHAR(10))`);
    // A slow checkpoint cadence guarantees the crash lands with published-but-not-checkpointed rows.
    const config = testConfig(nats, db, {
      capture: { checkpointIntervalMs: 300, publishWindow: 64 },
      source: { include: [schema] },
    });
    const { checkpoints } = await provision(nc, config);

    const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    try {
      await waitFor(() => child.stdout.read()?.toString().includes('ready') ?? false, {
        message: 'child capture ready',
      });
      const writing = insertRows((sql) => db.query(sql), `${schema}.t`, 0, TRANSACTIONS);
      await waitFor(async () => (await loadCheckpoint(checkpoints, 'src1')) !== undefined, {
        message: 'first checkpoint',
      });
      await waitForEvents(nc, config, (TRANSACTIONS * ROWS_PER_TX) / 4);
      child.kill('SIGKILL');
      await exited;
      await writing;
    } finally {
      child.kill('SIGKILL');
    }

    const atCrash = await readEvents(nc, config);
    const cp = (await loadCheckpoint(checkpoints, 'src1'))!;
    const checkpointSeq = Number(cp.gtid!.split('-')[2]);
    const beyond = atCrash.filter((e) => Number(e.event.sluicetxid!.split('-')[2]) > checkpointSeq);
    expect(beyond.length).toBeGreaterThan(0); // the restart must replay stored rows for this test to mean anything

    await using capture = await startCapture(nc, config, checkpoints);
    await waitForEvents(nc, config, TRANSACTIONS * ROWS_PER_TX);
    await capture.stop();
    const events = await readEvents(nc, config);
    expect(events).toHaveLength(TRANSACTIONS * ROWS_PER_TX);
    expectEveryRowOnce(events, TRANSACTIONS * ROWS_PER_TX);
    // Replayed rows kept their ids: those stored before the crash are unchanged in the final stream.
    const finalIds = new Set(events.map((e) => e.event.id));
    expect(beyond.every((e) => finalIds.has(e.event.id))).toBe(true);
    const stored = await new Kvm(nc).open(checkpointsBucket(config.nats));
    expect((await stored.get('src1'))?.json<{ pos: number }>().pos).toBeGreaterThan(cp.pos);
  });

  it('reconnects when MySQL restarts and continues without losing a row', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    const nc = await nats.connect();
    const schema = uniqueName('restart');
    await db.query(`CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY, v VARCHAR(10))`);
    const config = testConfig(nats, db, { source: { include: [schema] } });
    const { checkpoints } = await provision(nc, config);
    await using capture = await startCapture(nc, config, checkpoints);

    await insertRows((sql) => db.query(sql), `${schema}.t`, 0, 100);
    await db.restart(); // rows above may not all be captured yet: they must come from the binlog after restart
    await insertRows((sql) => db.query(sql), `${schema}.t`, 100, 200);
    await waitForEvents(nc, config, 200 * ROWS_PER_TX, 30_000);
    await waitFor(() => capture.stats().reconnects >= 1, { message: 'a reconnect' });
    await capture.stop();

    const events = await readEvents(nc, config);
    expect(events).toHaveLength(200 * ROWS_PER_TX);
    expectEveryRowOnce(events, 200 * ROWS_PER_TX);
    expect(capture.stats()).toMatchObject({ rowsPublished: expect.any(Number), pendingAcks: 0 });
    expect(capture.stats().transactions).toBeGreaterThanOrEqual(200);
  });
});
