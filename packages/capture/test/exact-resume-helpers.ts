import { expect } from 'vitest';
import type { KV } from '@nats-io/kv';
import { buildConfig, type Config } from '@sluice/core';
import { uniqueName, waitFor, type TestMysql, type TestNats } from '@sluice/test-harness';
import { loadCheckpoint } from '../src/resume/checkpoint-store.js';
import type { StoredEvent } from './helpers.js';

/**
 * A configuration whose dedupe window is one second, so that a re-publish more than a second after
 * the first copy is stored again: only reconcile can keep the stream duplicate-free.
 */
export function exactConfig(
  nats: TestNats,
  db: TestMysql,
  schema: string,
  capture: Record<string, unknown> = {},
): Config {
  return buildConfig(
    JSON.stringify({
      nats: { url: nats.url, prefix: uniqueName('exact'), partitions: 4, duplicateWindowMs: 1_000 },
      capture: {
        checkpointIntervalMs: 50,
        checkpointHeartbeatMs: 1_000,
        reconnectMinMs: 50,
        reconnectMaxMs: 500,
        publishTimeoutMs: 5_000,
        ...capture,
      },
      sources: [
        {
          id: 'src1',
          url: db.captureUrl,
          serverId: 1000 + Math.floor(Math.random() * 1_000_000),
          include: [schema],
        },
      ],
    }),
    {},
  );
}

/** The same configuration with other capture settings (for a restarted capturer). */
export function withCapture(config: Config, capture: Record<string, unknown>): Config {
  return { ...config, capture: { ...config.capture, ...capture } };
}

/** One row change as the tests spell it: `<table>:<op>:<key>:<v>` (`v` of the after image, or before for deletes). */
export function changeOf(e: StoredEvent): string {
  const d = e.event.data;
  const image = (d.after ?? d.before) as { v?: unknown } | null;
  return `${d.table}:${d.op}:${e.event.subject}:${String(image?.v)}`;
}

/** Every stored message has its own event id, and the row changes are exactly `expected`. */
export function expectExactlyOnce(events: readonly StoredEvent[], expected: readonly string[]): void {
  const perId = new Map<string, number>();
  for (const e of events) perId.set(e.event.id, (perId.get(e.event.id) ?? 0) + 1);
  const repeated = [...perId].filter(([, n]) => n > 1);
  expect(repeated, 'event ids stored more than once').toEqual([]);
  expect(events.map(changeOf).sort()).toEqual([...expected].sort());
}

/** Waits until the source's checkpoint names the server's last binlog transaction: capture caught up. */
export async function waitCaughtUp(db: TestMysql, checkpoints: KV, timeoutMs = 120_000): Promise<void> {
  const [row] = await db.query<{ pos: string }[]>('SELECT @@gtid_binlog_pos AS pos');
  const pos = row!.pos;
  await waitFor(async () => (await loadCheckpoint(checkpoints, 'src1'))?.gtid === pos, {
    timeoutMs,
    message: `checkpoint at ${pos}`,
  });
}

/** Waits until `ms` milliseconds have passed since `since` (Date.now()): a dedupe window running out. */
export async function waitPast(since: number, ms: number): Promise<void> {
  await waitFor(() => Date.now() - since > ms, { timeoutMs: ms + 10_000, message: `${ms} ms passed` });
}

/** A seeded PRNG (mulberry32): uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
