import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { eventsStream } from '@sluice/core';
import { startMysql, startNats, uniqueName, waitFor, type TestMysql } from '@sluice/test-harness';
import { loadCheckpoint } from '../src/resume/checkpoint-store.js';
import { reconciledFound, spawnCaptureChild, type CaptureChild, type LogLine } from './capture-child.js';
import { exactConfig, expectExactlyOnce, prng, waitCaughtUp, waitPast } from './exact-resume-helpers.js';
import { provision, readEvents } from './helpers.js';

const SEED = Number(process.env.SLUICE_TEST_SEED ?? Date.now() % 2 ** 31);
const CHANGES = 5_000;

/** A planned transaction: its SQL and, when it commits, the row changes it makes. */
interface PlannedTx {
  readonly sql: string;
  readonly changes: readonly string[];
}

/**
 * Transactions of 1–8 statements over two tables — multi-row inserts, updates, deletes — until
 * `total` committed row changes; about one in ten rolls back instead (keys from 1,000,000, values `rb…`).
 */
function planWrites(random: () => number, schema: string, total: number): PlannedTx[] {
  const live = { t: [] as number[], u: [] as number[] };
  const valueOf = new Map<number, string>(); // current value per key: a delete's before image
  let nextKey = 1;
  let nextValue = 1;
  let committed = 0;
  const plan: PlannedTx[] = [];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  while (committed < total) {
    if (random() < 0.1) {
      const k = 1_000_000 + nextKey++;
      plan.push({
        sql: `BEGIN; INSERT INTO ${schema}.t VALUES (${k}, 'rb${k}'); UPDATE ${schema}.u SET v = 'rb${k}' LIMIT 3; ROLLBACK`,
        changes: [],
      });
      continue;
    }
    const statements: string[] = [];
    const changes: string[] = [];
    const n = 1 + Math.floor(random() * 8);
    for (let i = 0; i < n && committed + changes.length < total; i++) {
      const table = random() < 0.5 ? 't' : 'u';
      const keys = live[table];
      const r = random();
      if (keys.length > 0 && r < 0.2) {
        const k = pick(keys);
        const v = `u${nextValue++}`;
        statements.push(`UPDATE ${schema}.${table} SET v = '${v}' WHERE id = ${k}`);
        changes.push(`${table}:update:${k}:${v}`);
        valueOf.set(k, v);
      } else if (keys.length > 0 && r < 0.3) {
        const at = Math.floor(random() * keys.length);
        const k = keys[at]!;
        keys.splice(at, 1);
        statements.push(`DELETE FROM ${schema}.${table} WHERE id = ${k}`);
        changes.push(`${table}:delete:${k}:${valueOf.get(k)}`);
      } else {
        const rows = Math.min(1 + Math.floor(random() * 4), total - committed - changes.length);
        const values: string[] = [];
        for (let j = 0; j < rows; j++) {
          const k = nextKey++;
          const v = `i${k}`;
          keys.push(k);
          valueOf.set(k, v);
          values.push(`(${k}, '${v}')`);
          changes.push(`${table}:insert:${k}:${v}`);
        }
        statements.push(`INSERT INTO ${schema}.${table} VALUES ${values.join(', ')}`);
      }
    }
    committed += changes.length;
    plan.push({ sql: `BEGIN; ${statements.join('; ')}; COMMIT`, changes });
  }
  return plan;
}

async function createTables(db: TestMysql, schema: string): Promise<void> {
  await db.query(
    `CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY, v VARCHAR(20)); CREATE TABLE ${schema}.u (id INT PRIMARY KEY, v VARCHAR(20))`,
  );
}

describe(`exact resume (seed ${SEED}; rerun with SLUICE_TEST_SEED=${SEED})`, () => {
  it('kill -9 at random points during 5,000 writes, restarts after the dedupe window: every committed row once', async () => {
    const random = prng(SEED);
    await using nats = await startNats();
    await using db = await startMysql();
    const schema = uniqueName('kills');
    await createTables(db, schema);
    // A slow checkpoint: every crash leaves acknowledged rows beyond it.
    const config = exactConfig(nats, db, schema, { checkpointIntervalMs: 300, publishWindow: 64 });
    const nc = await nats.connect();
    const { checkpoints } = await provision(nc, config);
    const jsm = await jetstreamManager(nc);
    const stored = async (): Promise<number> =>
      (await jsm.streams.info(eventsStream(config.nats))).state.messages;

    const plan = planWrites(random, schema, CHANGES);
    const kills = 5 + Math.floor(random() * 4);
    // One kill point in each of `kills` equal slices of the stream, so that each lands mid-stream.
    const slice = (CHANGES - 400) / kills;
    const killAt = Array.from({ length: kills }, (_, i) => Math.floor(200 + slice * (i + random())));
    const logs: LogLine[] = [];
    let child: CaptureChild = spawnCaptureChild(config, { SLUICE_CHILD_LOG: 'info' });
    try {
      await child.ready();
      const writing = writeAll(plan, db, stored);
      for (const at of killAt) {
        await waitFor(async () => (await stored()) >= at, { timeoutMs: 120_000, message: `${at} events` });
        await child.kill();
        logs.push(...child.logs);
        const killedAt = Date.now();
        await waitPast(killedAt, 1_500);
        child = spawnCaptureChild(config, { SLUICE_CHILD_LOG: 'info' });
        await child.ready();
      }
      await writing;
      await waitCaughtUp(db, checkpoints);
    } finally {
      await child.kill();
      logs.push(...child.logs);
    }

    const events = await readEvents(nc, config);
    expectExactlyOnce(
      events,
      plan.flatMap((tx) => tx.changes),
    );
    expect(logs.filter((l) => l.code === 'SLUICE_RECONCILE_INCOMPLETE')).toEqual([]);
    // The restarts found stored rows beyond their checkpoints and skipped them: the dedupe window
    // (one second) had long passed, so nothing else kept them from being stored twice.
    const found = reconciledFound(logs);
    expect(found.length).toBeGreaterThanOrEqual(kills);
    expect(found.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('down longer than the dedupe window, restarted from a checkpoint far behind what is stored: nothing stored twice', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    const schema = uniqueName('stale');
    await createTables(db, schema);
    const config = exactConfig(nats, db, schema);
    const nc = await nats.connect();
    const { checkpoints } = await provision(nc, config);
    const expected: string[] = [];
    const insert = async (from: number, to: number): Promise<void> => {
      for (let k = from; k < to; k += 5) {
        const rows = [0, 1, 2, 3, 4].map((i) => `(${k + i}, 'v${k + i}')`).join(', ');
        await db.query(`INSERT INTO ${schema}.t VALUES ${rows}`);
        for (let i = 0; i < 5; i++) expected.push(`t:insert:${k + i}:v${k + i}`);
      }
    };

    {
      await using first = spawnCaptureChild(config);
      await first.ready();
      await insert(0, 5);
      await waitCaughtUp(db, checkpoints);
      const early = (await loadCheckpoint(checkpoints, 'src1'))!;
      await insert(5, 1_005);
      await waitCaughtUp(db, checkpoints);
      await first.kill();
      // What a checkpoint looks like when its position lagged far behind what was stored — a long
      // transaction, checkpoint writes that failed — while heartbeats kept its updatedAt fresh.
      const latest = (await loadCheckpoint(checkpoints, 'src1'))!;
      expect(early.streamSeq).toBeLessThan(latest.streamSeq!);
      await checkpoints.put('src1', JSON.stringify({ ...early, updatedAt: latest.updatedAt }));
    }
    const downSince = Date.now();
    await waitPast(downSince, 1_500);

    await using second = spawnCaptureChild(config, { SLUICE_CHILD_LOG: 'info' });
    await second.ready();
    await insert(1_005, 1_105);
    await waitCaughtUp(db, checkpoints);
    await second.kill();

    expectExactlyOnce(await readEvents(nc, config), expected);
    expect(reconciledFound(second.logs)).toEqual([1_000]);
  });
});

/**
 * Runs the plan, staying at most 1,500 row changes ahead of the stream so that writes go on while
 * capturers are killed and restarted.
 */
async function writeAll(
  plan: readonly PlannedTx[],
  db: TestMysql,
  stored: () => Promise<number>,
): Promise<void> {
  let written = 0;
  for (const [i, tx] of plan.entries()) {
    if (i % 25 === 0 && written - (await stored()) > 1_500) {
      await waitFor(async () => written - (await stored()) <= 500, {
        timeoutMs: 120_000,
        message: 'capture catching up with the writes',
      });
    }
    await db.query(tx.sql);
    written += tx.changes.length;
  }
}
