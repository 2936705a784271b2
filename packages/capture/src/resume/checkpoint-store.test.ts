import type { KV } from '@nats-io/kv';
import { createLogger, isSluiceError } from '@sluice/core';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  CheckpointWriter,
  loadCheckpoint,
  startPointFor,
  type Checkpoint,
  type CheckpointPosition,
} from './checkpoint-store.js';

const log = createLogger({ level: 'silent', pretty: false });
const at = (cp: Partial<Checkpoint>): Checkpoint => ({
  file: 'bin.000007',
  pos: 1234,
  updatedAt: '2026-11-26T00:00:00.000Z',
  ...cp,
});

describe('startPointFor', () => {
  test('no checkpoint: the current end of the binlog', () => {
    expect(startPointFor(undefined, 1, log)).toEqual({ startAtEnd: true });
  });

  test('a GTID wins over file and position, on any server', () => {
    expect(startPointFor(at({ gtid: '0-1-42', serverId: 1 }), 2, log)).toEqual({ gtidSet: '0-1-42' });
  });

  test('file and position on the server that wrote them', () => {
    expect(startPointFor(at({ serverId: 1 }), 1, log)).toEqual({ filename: 'bin.000007', position: 1234 });
  });

  test('file and position of another server: SLUICE_CHECKPOINT_FOREIGN, never a silent jump', () => {
    let error: unknown;
    try {
      startPointFor(at({ serverId: 1 }), 2, log);
    } catch (err) {
      error = err;
    }
    expect(isSluiceError(error, 'SLUICE_CHECKPOINT_FOREIGN')).toBe(true);
  });
});

interface FakeKv {
  readonly kv: KV;
  readonly puts: Checkpoint[];
  /** Makes the next puts fail while true. */
  failing: boolean;
}

function fakeKv(stored?: unknown): FakeKv {
  const f: FakeKv = {
    puts: [],
    failing: false,
    kv: {
      put: (_key: string, value: Uint8Array) => {
        if (f.failing) return Promise.reject(new Error('no responders'));
        f.puts.push(JSON.parse(new TextDecoder().decode(value)) as Checkpoint);
        return Promise.resolve(f.puts.length);
      },
      get: () =>
        Promise.resolve(
          stored === undefined
            ? null
            : { operation: 'PUT', value: new Uint8Array([1]), json: () => stored as Checkpoint },
        ),
    } as unknown as KV,
  };
  return f;
}

describe('loadCheckpoint', () => {
  test('reads streamSeq and heartbeatMs', async () => {
    const cp = at({ streamSeq: 42, heartbeatMs: 10_000 });
    expect(await loadCheckpoint(fakeKv(cp).kv, 'src')).toEqual(cp);
  });

  test('a streamSeq that is not a count is SLUICE_CHECKPOINT_CORRUPT', async () => {
    const read = loadCheckpoint(fakeKv(at({ streamSeq: -1 })).kv, 'src');
    await expect(read).rejects.toMatchObject({ code: 'SLUICE_CHECKPOINT_CORRUPT' });
  });
});

describe('CheckpointWriter', () => {
  const pos = (p: number, streamSeq?: number): CheckpointPosition => ({
    file: 'bin.000001',
    pos: p,
    streamSeq,
  });

  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  function writer(f: FakeKv, initial?: Checkpoint, heartbeatMs = 1_000): CheckpointWriter {
    return new CheckpointWriter(
      { kv: f.kv, sourceId: 'src', intervalMs: 100, heartbeatMs, serverId: 7, logger: log, now: Date.now },
      initial,
    );
  }

  test('start() writes the loaded checkpoint again with a fresh updatedAt, keeping its server and streamSeq', async () => {
    const f = fakeKv();
    const w = writer(f, at({ gtid: '0-1-5', serverId: 3, streamSeq: 99 }));
    await w.start();
    expect(f.puts).toEqual([
      {
        gtid: '0-1-5',
        file: 'bin.000007',
        pos: 1234,
        serverId: 3,
        streamSeq: 99,
        heartbeatMs: 1_000,
        updatedAt: new Date(1_000_000).toISOString(),
      },
    ]);
    await w.close();
  });

  test('start() fails with SLUICE_CHECKPOINT_STALE when the write fails', async () => {
    const f = fakeKv();
    f.failing = true;
    const w = writer(f, at({}));
    await expect(w.start()).rejects.toMatchObject({ code: 'SLUICE_CHECKPOINT_STALE' });
    await w.close();
  });

  test('writes offered positions with their streamSeq, throttled to the interval', async () => {
    const f = fakeKv();
    const w = writer(f);
    await w.start(); // nothing loaded: nothing to write
    expect(f.puts).toHaveLength(0);
    w.offer(pos(10, 5));
    await vi.advanceTimersByTimeAsync(0);
    w.offer(pos(20, 6));
    w.offer(pos(30, 7));
    await vi.advanceTimersByTimeAsync(99);
    expect(f.puts.map((c) => [c.pos, c.streamSeq])).toEqual([[10, 5]]);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.puts.map((c) => [c.pos, c.streamSeq])).toEqual([
      [10, 5],
      [30, 7],
    ]);
    await w.close();
  });

  test('heartbeats rewrite an unmoved position, so updatedAt stays within heartbeatMs', async () => {
    const f = fakeKv();
    const w = writer(f);
    w.offer(pos(10, 5));
    await vi.advanceTimersByTimeAsync(3_500);
    expect(f.puts.map((c) => c.updatedAt)).toEqual(
      [0, 1_000, 2_000, 3_000].map((ms) => new Date(1_000_000 + ms).toISOString()),
    );
    expect(new Set(f.puts.map((c) => c.pos))).toEqual(new Set([10]));
    expect(w.stale).toBe(false);
    await w.close();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(f.puts).toHaveLength(4); // closed: no more heartbeats
  });

  test('is stale once no write succeeded for twice the heartbeat, and fresh again after one does', async () => {
    const f = fakeKv();
    const w = writer(f);
    w.offer(pos(10, 5));
    await vi.advanceTimersByTimeAsync(0);
    f.failing = true;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(w.stale).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(w.stale).toBe(true);
    f.failing = false;
    await vi.advanceTimersByTimeAsync(250); // failed writes are retried every quarter heartbeat
    expect(w.stale).toBe(false);
    await w.close();
  });

  test('without the lease it writes nothing and retries no faster than the interval', async () => {
    const f = fakeKv();
    let asked = 0;
    const w = new CheckpointWriter({
      kv: f.kv,
      sourceId: 'src',
      intervalMs: 100,
      heartbeatMs: 1_000,
      serverId: 7,
      logger: log,
      now: Date.now,
      // Lets writes through after 50 refusals, so that a busy retry loop ends (and fails below).
      mayWrite: () => ++asked > 50,
    });
    w.offer(pos(10, 5));
    w.offer(pos(20, 6));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(f.puts).toHaveLength(0);
    expect(asked).toBeLessThanOrEqual(11);
    await w.close();
  });

  test('a writer with nothing to write is never stale', async () => {
    const w = writer(fakeKv());
    await w.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(w.stale).toBe(false);
    await w.close();
  });
});
