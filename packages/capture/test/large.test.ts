import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { decodeEvent, eventsStream, type Config } from '@sluice/core';
import { startMysql, startNats, uniqueName, waitFor, type TestMysql } from '@sluice/test-harness';
import { provision, testConfig } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/capture-stats-child.mjs', import.meta.url));
const ROWS = 100_000;
const VALUE_CHARS = 1_000;
const WINDOW = 1_024;
/** Rows of ~1 KB in one rows event of at most 1 MiB (`--binlog-row-event-max-size`), with room to spare. */
const MAX_ROWS_PER_EVENT = 1_100;
/**
 * Peak resident memory allowed to the capturer process. A capturer that kept the transaction's events
 * (100,000 × ~1.2 KB of JSON plus the decoded rows) would need several times the baseline of a Node
 * process with its NATS and MySQL clients (~100 MB).
 */
const MAX_PEAK_RSS_MB = 300;

/** What the events stream holds, reduced as it is read (the whole stream would not fit in this test's memory budget). */
interface StreamSummary {
  messages: number;
  ids: Set<string>;
  keys: Set<string>;
  transactions: Set<string>;
  indexes: { min: number; max: number };
  last: { index: number | undefined; count: number | undefined }[];
}

async function summarise(nc: NatsConnection, config: Config): Promise<StreamSummary> {
  const stream = eventsStream(config.nats);
  const { state } = await (await jetstreamManager(nc)).streams.info(stream);
  const s: StreamSummary = {
    messages: 0,
    ids: new Set(),
    keys: new Set(),
    transactions: new Set(),
    indexes: { min: Infinity, max: -Infinity },
    last: [],
  };
  const messages = await (await jetstream(nc).consumers.get(stream)).consume();
  for await (const m of messages) {
    const e = decodeEvent(m.data);
    s.messages++;
    s.ids.add(e.id);
    s.keys.add(e.subject!);
    s.transactions.add(e.sluicetxid!);
    s.indexes.min = Math.min(s.indexes.min, e.sluicetxindex!);
    s.indexes.max = Math.max(s.indexes.max, e.sluicetxindex!);
    if (e.sluicetxlast !== undefined || e.sluicetxcount !== undefined)
      s.last.push({ index: e.sluicetxindex, count: e.sluicetxcount });
    if (m.seq >= state.last_seq) break;
  }
  await messages.close();
  return s;
}

/** What the child capturer prints every 50 ms. */
interface ChildStats {
  readonly pendingAcks: number;
  readonly rowsPublished: number;
  readonly reconnects: number;
}

/**
 * Waits until the capturer stopped reading — its outstanding publishes stand still for 30 polls in a
 * row while the server's binlog dump thread is blocked writing to it (`Writing to net`) — or until the
 * server sent everything after having been busy (the capturer read the whole transaction). Returns
 * what it saw last.
 */
async function readingStalled(
  db: TestMysql,
  stats: () => ChildStats | undefined,
): Promise<{ state: string; pendingAcks: number }> {
  const IDLE = 'Master has sent all binlog to slave; waiting for more updates';
  let last = { state: '', pendingAcks: -1 };
  let busy = false;
  let still = 0;
  await waitFor(
    async () => {
      const [dump] = await db.query<{ STATE: string }[]>(
        "SELECT STATE FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'",
      );
      const now = { state: dump?.STATE ?? '', pendingAcks: stats()?.pendingAcks ?? -1 };
      const unchanged = now.pendingAcks === last.pendingAcks && now.pendingAcks > 0;
      last = now;
      if (now.state === IDLE) return busy;
      busy = true;
      still = now.state === 'Writing to net' && unchanged ? still + 1 : 0;
      // Seconds rather than one poll: a capturer short of CPU on a busy machine pauses too.
      return still >= 30;
    },
    { timeoutMs: 120_000, intervalMs: 100, message: 'capturer stopped reading, or read everything' },
  );
  return last;
}

/** Peak resident set size of a live process, in MiB (Linux `VmHWM`). */
async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  if (kb === null) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kb[1]) / 1024;
}

describe('large transactions', () => {
  it('streams a 100,000-row transaction with bounded memory, every row stored once, the last one marked', async () => {
    await using nats = await startNats();
    // Rows events of up to 1 MiB: each carries hundreds of rows, all handed over at once.
    await using db = await startMysql({ extraArgs: ['--binlog-row-event-max-size=1048576'] });
    const nc = await nats.connect();
    const schema = uniqueName('large');
    await db.query(
      `CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY, v VARCHAR(${VALUE_CHARS}))`,
    );
    const config = testConfig(nats, db, {
      // The broker is stopped for a while below: nothing may time out meanwhile.
      capture: { publishWindow: WINDOW, publishTimeoutMs: 300_000, checkpointHeartbeatMs: 300_000 },
      source: { include: [schema] },
    });
    await provision(nc, config);

    const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    let stats: ChildStats | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => (stats = JSON.parse(line) as ChildStats));
    try {
      await waitFor(() => stats !== undefined, { timeoutMs: 30_000, message: 'child capture ready' });
      // With the broker frozen no PubAck comes back: once the publish window is full, the capturer
      // must stop reading the binlog, and the server is left blocked writing the transaction to it.
      process.kill(nats.server.pid, 'SIGSTOP');
      try {
        // One statement, one transaction (MariaDB's SEQUENCE engine provides the numbers).
        await db.query(
          `INSERT INTO ${schema}.t SELECT seq, REPEAT(CHAR(97 + seq % 26), ${VALUE_CHARS}) FROM ${schema}.seq_1_to_${ROWS}`,
        );
        const stalled = await readingStalled(db, () => stats);
        expect(stalled.state).toBe('Writing to net');
        // The window, overshot by at most the rest of one rows event.
        expect(stalled.pendingAcks).toBeGreaterThanOrEqual(WINDOW);
        expect(stalled.pendingAcks).toBeLessThanOrEqual(WINDOW + MAX_ROWS_PER_EVENT);
      } finally {
        process.kill(nats.server.pid, 'SIGCONT');
      }
      const jsm = await jetstreamManager(nc);
      await waitFor(async () => (await jsm.streams.info(eventsStream(config.nats))).state.messages >= ROWS, {
        timeoutMs: 240_000,
        intervalMs: 250,
        message: `${ROWS} events stored`,
      });
      const peak = await peakRssMb(child.pid!);
      // The figure this test exists for; reported so that runs can be compared.
      console.info(`capturer peak RSS for a ${ROWS}-row transaction: ${peak.toFixed(0)} MiB`);
      expect(peak).toBeLessThan(MAX_PEAK_RSS_MB);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }

    const s = await summarise(nc, config);
    expect(s.messages).toBe(ROWS);
    expect(s.ids.size).toBe(ROWS);
    expect(s.keys.size).toBe(ROWS);
    expect(s.transactions.size).toBe(1);
    expect(s.indexes).toEqual({ min: 0, max: ROWS - 1 });
    expect(s.last).toEqual([{ index: ROWS - 1, count: ROWS }]);
  }, 240_000); // ~20 s on an idle machine; the waits above allow for a busy one
});
