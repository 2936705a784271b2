import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KV } from '@nats-io/kv';
import {
  startMysql,
  startNats,
  uniqueName,
  waitFor,
  type TestMysql,
  type TestNats,
} from '@sluice/test-harness';
import { loadCheckpoint, type Checkpoint } from '../src/resume/checkpoint-store.js';
import { reconciledFound, spawnCaptureChild } from './capture-child.js';
import {
  changeOf,
  exactConfig,
  expectExactlyOnce,
  waitCaughtUp,
  waitPast,
  withCapture,
} from './exact-resume-helpers.js';
import { provision, readEvents, waitForEvents } from './helpers.js';

/**
 * Where in a multi-statement transaction the capturer dies (SIGKILL from inside, on the
 * `sluice:capture:binlog-event` channel, just before the event is handled). On MariaDB a transaction
 * begins with its GTID event: there is no separate BEGIN query event.
 */
const CRASH_POINTS = [
  { at: 'mariadbgtid:1', what: 'the GTID event that begins it (BEGIN)', flush: false },
  { at: 'tablemap:2', what: 'its second TABLE_MAP', flush: false },
  { at: 'rows:3', what: 'its third ROWS event', flush: false },
  { at: 'xid:1', what: 'its XID (the commit)', flush: false },
  { at: 'rotate:1', what: 'the ROTATE after FLUSH BINARY LOGS before it', flush: true },
] as const;

describe('exact resume after a crash at each kind of binlog event', () => {
  let nats: TestNats;
  let db: TestMysql;
  beforeAll(async () => {
    [nats, db] = await Promise.all([startNats(), startMysql()]);
  });
  afterAll(async () => {
    await Promise.all([nats?.[Symbol.asyncDispose](), db?.[Symbol.asyncDispose]()]);
  });

  it.each(CRASH_POINTS)(
    'crash at $what ($at), restart after the dedupe window: every row once',
    async ({ at, flush }) => {
      const s = uniqueName('kind');
      await db.query(
        `CREATE DATABASE ${s}; CREATE TABLE ${s}.t (id INT PRIMARY KEY, v VARCHAR(20)); CREATE TABLE ${s}.u (id INT PRIMARY KEY, v VARCHAR(20))`,
      );
      // publishWindow 1: each rows event is acknowledged before the next event is handled, so what
      // precedes the crash point is stored; the interval keeps the checkpoint where it was first written:
      // at the start position.
      const config = exactConfig(nats, db, s, { publishWindow: 1, checkpointIntervalMs: 60_000 });
      const nc = await nats.connect();
      const { checkpoints } = await provision(nc, config);
      const expected: string[] = [];

      const first = spawnCaptureChild(config, {
        SLUICE_CRASH_AT: at,
        SLUICE_CRASH_ARM: 'stdin',
        SLUICE_CHILD_LOG: 'info',
      });
      await using _first = first;
      await first.ready();
      await db.query(`INSERT INTO ${s}.t VALUES (1, 'w')`);
      expected.push('t:insert:1:w');
      await waitForEvents(nc, config, 1);
      const cp = await waitForCheckpoint(checkpoints);
      // Stored after the checkpoint, which stays put: the restart replays these.
      for (let tx = 0; tx < 3; tx++) {
        const k = 10 + tx * 2;
        await db.query(
          `BEGIN; INSERT INTO ${s}.t VALUES (${k}, 'p'), (${k + 1}, 'p'); INSERT INTO ${s}.u VALUES (${k}, 'p'); COMMIT`,
        );
        expected.push(`t:insert:${k}:p`, `t:insert:${k + 1}:p`, `u:insert:${k}:p`);
      }
      await waitForEvents(nc, config, expected.length);
      await first.arm();
      if (flush) await db.query('FLUSH BINARY LOGS');
      await db.query(
        [
          `BEGIN`,
          `INSERT INTO ${s}.t VALUES (30, 'x'), (31, 'x'), (32, 'x')`,
          `INSERT INTO ${s}.u VALUES (30, 'x'), (31, 'x')`,
          `UPDATE ${s}.t SET v = 'xu' WHERE id IN (30, 31)`,
          `DELETE FROM ${s}.u WHERE id = 30`,
          `COMMIT`,
        ].join('; '),
      );
      expected.push(
        ...['30', '31', '32'].map((k) => `t:insert:${k}:x`),
        'u:insert:30:x',
        'u:insert:31:x',
        't:update:30:xu',
        't:update:31:xu',
        'u:delete:30:x',
      );
      expect(await first.exited).toBe('SIGKILL');
      const killedAt = Date.now();

      // The premise: rows stored beyond the checkpoint, which a plain replay would store again.
      const before = await readEvents(nc, config);
      expect(await loadCheckpoint(checkpoints, 'src1')).toMatchObject({ file: cp.file, pos: cp.pos });
      expect(before.length).toBeGreaterThanOrEqual(10);
      await waitPast(killedAt, 1_500);

      const second = spawnCaptureChild(withCapture(config, { checkpointIntervalMs: 50 }), {
        SLUICE_CHILD_LOG: 'info',
      });
      await using _second = second;
      await second.ready();
      await db.query(`INSERT INTO ${s}.t VALUES (99, 'z')`);
      expected.push('t:insert:99:z');
      await waitCaughtUp(db, checkpoints);
      await second.kill();

      const events = await readEvents(nc, config);
      expectExactlyOnce(events, expected);
      // Everything stored before the crash was found, not re-published: all of it lies after the
      // checkpoint, the position the first capturer started from (stored before it was ready).
      expect(reconciledFound(second.logs)).toEqual([before.length]);
      expect(before.every((e) => expected.includes(changeOf(e)))).toBe(true);
    },
  );
});

async function waitForCheckpoint(checkpoints: KV): Promise<Checkpoint> {
  await waitFor(async () => (await loadCheckpoint(checkpoints, 'src1')) !== undefined, {
    message: 'first checkpoint',
  });
  return (await loadCheckpoint(checkpoints, 'src1'))!;
}
