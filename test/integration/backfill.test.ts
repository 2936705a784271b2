import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backfillBucket,
  checkpointsBucket,
  decodeEvent,
  eventsStream,
  type CloudEvent,
  type RowChange,
} from '@sluice/core';
import {
  spawnSluice,
  startMysql,
  startNats,
  uniqueName,
  waitFor,
  type SluiceProcess,
  type TestMysql,
  type TestNats,
} from '@sluice/test-harness';

// `sluice backfill` against a table that keeps changing while `sluice capture` streams it: every row
// ends with an event carrying its current value, a SIGKILL midway and a rerun store every read once.

const ROWS = 4000;
const GATE = 2000; // a row held locked by the test, so the backfill is known to be mid-table
const CHUNK = '100';
const TIMEOUT_MS = 180_000; // two sluice children, 4,000 rows and thousands of writes on 2 shared cores

let nats: TestNats;
let db: TestMysql;
let nc: NatsConnection;

beforeAll(async () => {
  [nats, db] = await Promise.all([startNats(), startMysql()]);
  nc = await nats.connect();
});

afterAll(async () => {
  await db?.[Symbol.asyncDispose]();
  await nats?.[Symbol.asyncDispose]();
});

interface Stored {
  readonly seq: number;
  readonly event: CloudEvent<RowChange>;
}

async function readStream(prefix: string): Promise<Stored[]> {
  const stream = eventsStream({ prefix });
  const { state } = await (await jetstreamManager(nc)).streams.info(stream);
  const out: Stored[] = [];
  if (state.messages === 0) return out;
  const messages = await (await jetstream(nc).consumers.get(stream)).consume();
  for await (const m of messages) {
    out.push({ seq: m.seq, event: decodeEvent(m.data) as CloudEvent<RowChange> });
    if (m.seq >= state.last_seq) break;
  }
  await messages.close();
  return out;
}

/**
 * Random single-row updates, deletes and inserts from three connections until stopped, plus a fourth
 * that updates the rows just ahead of the backfill's cursor (`cursor()`), where a read and a live change
 * of one row are most likely to race.
 */
function startWriters(schema: string, cursor: () => Promise<number | undefined>) {
  let stopped = false;
  let writes = 0;
  let nextId = ROWS + 1;
  let failure: unknown;
  const loop = async (): Promise<void> => {
    for (let i = 0; i < 200_000 && !stopped && failure === undefined; i++) {
      const r = Math.random();
      const id = 1 + Math.floor(Math.random() * (nextId - 1));
      if (id === GATE) continue;
      const sql =
        r < 0.7
          ? `UPDATE ${schema}.items SET v = v + 1, note = CONCAT('u', v + 1), updated = NOW(6) WHERE id = ${id}`
          : r < 0.85
            ? `DELETE FROM ${schema}.items WHERE id = ${id}`
            : `INSERT INTO ${schema}.items VALUES (${r < 0.95 ? nextId++ : id}, 0, 'new', NOW(6))
               ON DUPLICATE KEY UPDATE v = v + 1, note = 'again', updated = NOW(6)`;
      try {
        await db.query(sql);
        writes++;
        // Pacing, not synchronisation: about 1,000 writes/s keep two shared cores for sluice itself.
        await sleep(2);
      } catch (err) {
        // Single-row statements can still lose a lock wait to each other; anything else fails the test.
        if (![1205, 1213].includes((err as { errno?: number }).errno ?? 0)) failure ??= err;
      }
    }
  };
  const chase = async (): Promise<void> => {
    for (let i = 0; i < 200_000 && !stopped && failure === undefined; i++) {
      try {
        const at = await cursor();
        const id = (at ?? 0) + 1 + Math.floor(Math.random() * 2 * Number(CHUNK));
        if (id !== GATE)
          await db.query(`UPDATE ${schema}.items SET v = v + 1, note = 'chased' WHERE id = ${id}`);
        await sleep(1);
      } catch (err) {
        if (![1205, 1213].includes((err as { errno?: number }).errno ?? 0)) failure ??= err;
      }
    }
  };
  const loops = [loop(), loop(), loop(), chase()];
  return {
    /** Successful writes so far; throws the first unexpected error. */
    get writes(): number {
      if (failure !== undefined) throw failure;
      return writes;
    },
    async stop(): Promise<void> {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

interface Progress {
  readonly tables: readonly { readonly after: readonly number[] | null; readonly rows: number }[];
}

/** The backfill progress record of source `src1`, or `undefined` before the first backfill made it. */
async function progressOf(prefix: string): Promise<Progress | undefined> {
  const bucket = backfillBucket({ prefix });
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  // A plain request that fails fast while the bucket does not exist yet.
  const m = await jsm.streams
    .getMessage(`KV_${bucket}`, { last_by_subj: `$KV.${bucket}.src1` })
    .catch(() => null);
  return m?.json<Progress>();
}

/** Waits (bounded) for a sluice child to exit, and returns its exit code. */
async function exitOf(child: SluiceProcess): Promise<number | string> {
  await waitFor(() => child.child.exitCode !== null || child.child.signalCode !== null, {
    timeoutMs: 90_000,
    message: 'sluice to exit',
  });
  return child.exited;
}

async function currentRows(conn: Connection, schema: string): Promise<Map<string, Record<string, unknown>>> {
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT id, v, note, updated FROM ${schema}.items ORDER BY id`,
  );
  return new Map(rows.map((r) => [String(r.id), { id: r.id, v: r.v, note: r.note, updated: r.updated }]));
}

describe('sluice backfill', () => {
  it(
    'leaves the newest value last for every row, survives a SIGKILL midway, and refuses a table without a primary key',
    async () => {
      const schema = uniqueName('bfcli');
      const prefix = uniqueName('bfc');
      const values = Array.from(
        { length: ROWS },
        (_, i) => `(${i + 1}, 0, 'init', '2020-01-01 00:00:00.000001')`,
      );
      await db.query(`CREATE DATABASE ${schema};
      CREATE TABLE ${schema}.items (id INT PRIMARY KEY, v INT NOT NULL, note VARCHAR(40), updated DATETIME(6));
      CREATE TABLE ${schema}.nopk (a INT, b INT);
      INSERT INTO ${schema}.items VALUES ${values.join(', ')}`);
      const config = {
        nats: { url: nats.url, prefix, partitions: 4, duplicateWindowMs: 1000 },
        capture: { checkpointIntervalMs: 50 },
        logging: { level: 'warn' },
        sources: [
          {
            id: 'src1',
            url: db.captureUrl,
            serverId: 2000 + Math.floor(Math.random() * 1e6),
            include: [schema],
          },
        ],
      };
      // The existing rows were written before capture started: only a backfill can publish them.
      await using capture = await spawnSluice(['capture'], { config });
      await capture.waitForOutput('sluice is up');
      const writers = startWriters(schema, async () => (await progressOf(prefix))?.tables[0]?.after?.[0]);
      const gate = await createConnection({ uri: db.rootUrl });
      const reader = await createConnection({ uri: db.rootUrl, dateStrings: true });
      try {
        const checkpoints = await new Kvm(nc).open(checkpointsBucket({ prefix }));
        await waitFor(async () => writers.writes > 0 && (await checkpoints.get('src1')) !== null, {
          timeoutMs: 30_000,
          message: 'a capture checkpoint',
        });
        await gate.query('BEGIN');
        await gate.query(`UPDATE ${schema}.items SET v = v + 1000, note = 'gate' WHERE id = ${GATE}`);

        const args = ['backfill', 'src1', '--tables', `${schema}.items`, '--chunk', CHUNK];
        await using first = await spawnSluice(args, { config });
        const writesAtStart = writers.writes;
        await waitFor(
          async () => {
            // Only a one-row chunk waits for a lock; every other chunk query ends in NOWAIT.
            const [[w]] = await reader.query<RowDataPacket[]>(
              `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE '%${schema}%LOCK IN SHARE MODE'`,
            );
            const exited = first.child.exitCode !== null;
            return exited || (Number(w!.n) > 0 && writers.writes - writesAtStart >= 300);
          },
          { timeoutMs: 60_000, message: 'backfill waiting at the gate row while writes go on' },
        );
        expect(first.child.exitCode, first.stderr()).toBeNull();
        const atKill = (await progressOf(prefix))!;
        expect(atKill.tables[0]!.after![0]).toBeLessThan(GATE);
        expect(atKill.tables[0]!.rows).toBeGreaterThan(GATE / 2);
        await first.kill();
        const killedAt = Date.now();
        expect(first.stderr()).toMatch(new RegExp(`${schema}\\.items {2}[\\d,]+/~[\\d,]+ rows`));

        // Past the dedupe window, anything the rerun published twice would be stored twice.
        await waitFor(() => Date.now() - killedAt > 1_500, { message: 'the 1 s dedupe window to pass' });
        await gate.query('COMMIT');
        await using rerun = await spawnSluice([...args, '--json'], { config });
        expect(await exitOf(rerun), rerun.stderr()).toBe(0);
        const summary = JSON.parse(rerun.stdout()) as { runId: string; complete: boolean; resumed: boolean };
        expect(summary).toMatchObject({ complete: true, resumed: true, deduplicated: 0 });
        expect(rerun.stderr()).toContain(`backfill ${summary.runId} complete`);
        await writers.stop();

        const [[pos]] = await reader.query<RowDataPacket[]>('SELECT @@gtid_binlog_pos AS pos');
        await waitFor(
          async () => (await checkpoints.get('src1'))?.json<{ gtid?: string }>().gtid === pos!.pos,
          {
            timeoutMs: 60_000,
            message: `capture caught up to ${String(pos!.pos)}`,
          },
        );
        const events = (await readStream(prefix)).filter((s) => s.event.data.table === 'items');
        const rows = await currentRows(reader, schema);
        const last = new Map<string, Stored>();
        for (const s of events) last.set(s.event.subject!, s);
        for (const [key, row] of rows) {
          expect(last.get(key)?.event.data.op, `row ${key}`).not.toBe('delete');
          expect(last.get(key)?.event.data.after, `row ${key}`).toEqual(row);
        }
        const gone = [
          ...new Set([...last.keys(), ...Array.from({ length: ROWS }, (_, i) => String(i + 1))]),
        ].filter((k) => !rows.has(k));
        expect(gone.length).toBeGreaterThan(0);
        for (const key of gone) expect(last.get(key)?.event.data.op, `deleted row ${key}`).toBe('delete');

        const reads = events.filter((s) => s.event.data.op === 'read');
        expect(new Set(reads.map((s) => s.event.id)).size).toBe(reads.length);
        expect(new Set(reads.map((s) => s.event.subject)).size).toBe(reads.length); // one read per row
        expect(new Set(reads.map((s) => s.event.sluicebackfill))).toEqual(new Set([summary.runId]));
        // The race the locks guard against did happen: rows changed both before and after their read.
        const readSeq = new Map(reads.map((s) => [s.event.subject!, s.seq]));
        const live = events.filter((s) => s.event.data.op !== 'read' && readSeq.has(s.event.subject!));
        expect(live.some((s) => s.seq < readSeq.get(s.event.subject!)!)).toBe(true);
        expect(live.some((s) => s.seq > readSeq.get(s.event.subject!)!)).toBe(true);

        await using refused = await spawnSluice(['backfill', 'src1', '--tables', `${schema}.nopk`], {
          config,
        });
        expect(await exitOf(refused)).toBe(1);
        expect(refused.stderr()).toContain('SLUICE_BACKFILL_NO_PRIMARY_KEY');
        expect(refused.stderr()).toContain(`${schema}.nopk has no primary key`);
      } finally {
        await writers.stop();
        await gate.end();
        await reader.end();
      }
    },
    TIMEOUT_MS,
  );
});
