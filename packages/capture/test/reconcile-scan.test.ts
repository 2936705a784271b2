import { jetstream } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventHeaders,
  buildConfig,
  createLogger,
  eventSubject,
  provisionStreams,
  type Config,
} from '@sluice/core';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNats, uniqueName, type TestNats } from '@sluice/test-harness';
import type { Checkpoint } from '../src/resume/checkpoint-store.js';
import { reconcileWithStream, type ReconcileOptions } from '../src/resume/reconcile.js';

interface Logged {
  readonly msg: string;
  readonly code?: string;
  readonly stop?: string;
}

/** A logger that keeps its lines. */
function recordingLogger(): { logger: ReturnType<typeof createLogger>; lines: Logged[] } {
  const lines: Logged[] = [];
  const logger = createLogger(
    { level: 'info', pretty: false },
    { write: (line: string) => void lines.push(JSON.parse(line) as Logged) },
  );
  return { logger, lines };
}

describe('reconcileWithStream', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let config: Config;
  /** Stream sequence of each published message, by id. */
  const seqOf = new Map<string, number>();

  // 30 messages, alternating sources src1 / other, plus 5 without a source header (older versions).
  beforeAll(async () => {
    nats = await startNats();
    nc = await nats.connect();
    config = buildConfig(JSON.stringify({ nats: { url: nats.url, prefix: uniqueName('scan') } }), {});
    await provisionStreams(await jetstreamManager(nc), config.nats);
    const js = jetstream(nc);
    for (let i = 1; i <= 35; i++) {
      const h = headers();
      if (i <= 30) h.set(EventHeaders.source, i % 2 === 0 ? 'src1' : 'other');
      const ack = await js.publish(eventSubject(config.nats, 0, 'test.row'), new Uint8Array(10), {
        msgID: `e${i}`,
        headers: h,
      });
      seqOf.set(`e${i}`, ack.seq);
    }
  });
  afterAll(async () => {
    await nats?.[Symbol.asyncDispose]();
  });

  const options = (checkpoint: Checkpoint | undefined, more: Partial<ReconcileOptions> = {}) => {
    const { logger, lines } = recordingLogger();
    const o: ReconcileOptions = {
      nc,
      nats: config.nats,
      sourceId: 'src1',
      checkpoint,
      maxMessages: 1_000,
      timeoutMs: 30_000,
      slackMs: 1_000,
      logger,
      ...more,
    };
    return { o, lines };
  };
  const cp = (more: Partial<Checkpoint>): Checkpoint => ({
    file: 'bin.000001',
    pos: 4,
    updatedAt: new Date().toISOString(),
    heartbeatMs: 10_000,
    ...more,
  });
  const taken = (found: Awaited<ReturnType<typeof reconcileWithStream>>, ids: string[]): string[] =>
    ids.filter((id) => found.stored.take(id) !== undefined);
  const ids = (from: number, to: number): string[] =>
    Array.from({ length: to - from + 1 }, (_, i) => `e${from + i}`);

  it("finds this source's ids after streamSeq, up to the end of the stream", async () => {
    const { o, lines } = options(cp({ streamSeq: seqOf.get('e10')! }));
    const found = await reconcileWithStream(o);
    expect(found).toMatchObject({ floor: seqOf.get('e10'), scanned: 25, complete: true });
    expect(taken(found, ids(1, 35))).toEqual(ids(11, 30).filter((_, i) => i % 2 === 1));
    expect(lines.find((l) => l.msg === 'reconciled with the events stream')).toMatchObject({ stop: 'end' });
  });

  it('stops at the first message stored after updatedAt + twice the heartbeat + slack', async () => {
    const longAgo = new Date(Date.now() - 3_600_000).toISOString();
    const { o } = options(cp({ streamSeq: 0, updatedAt: longAgo, heartbeatMs: 1_000 }));
    const found = await reconcileWithStream(o);
    expect(found).toMatchObject({ scanned: 0, complete: true });
    expect(found.stored.size).toBe(0);
  });

  it('without heartbeatMs in the checkpoint, reads to the end however old updatedAt is', async () => {
    const longAgo = new Date(Date.now() - 3_600_000).toISOString();
    const { o } = options(cp({ streamSeq: 0, updatedAt: longAgo, heartbeatMs: undefined }));
    const found = await reconcileWithStream(o);
    expect(found).toMatchObject({ scanned: 35, complete: true });
    expect(found.stored.size).toBe(15);
  });

  it('a scan cut short by maxMessages keeps what it found and warns SLUICE_RECONCILE_INCOMPLETE', async () => {
    const { o, lines } = options(cp({ streamSeq: 0 }), { maxMessages: 10 });
    const found = await reconcileWithStream(o);
    expect(found).toMatchObject({ scanned: 10, complete: false, floor: 0 });
    expect(taken(found, ids(1, 35))).toEqual(['e2', 'e4', 'e6', 'e8', 'e10']);
    expect(lines.find((l) => l.code === 'SLUICE_RECONCILE_INCOMPLETE')).toMatchObject({
      stop: 'max-messages',
    });
  });

  it('a checkpoint without streamSeq is not scanned: SLUICE_RECONCILE_INCOMPLETE, dedupe alone', async () => {
    const { o, lines } = options(cp({}));
    const found = await reconcileWithStream(o);
    expect(found).toMatchObject({ scanned: 0, complete: false, floor: undefined });
    expect(lines.filter((l) => l.code === 'SLUICE_RECONCILE_INCOMPLETE')).toHaveLength(1);
  });

  it('without a checkpoint, the floor is the end of the stream', async () => {
    const { o } = options(undefined);
    expect(await reconcileWithStream(o)).toMatchObject({ floor: seqOf.get('e35'), complete: true });
  });

  it('a streamSeq beyond the stream (recreated since) falls back to its end', async () => {
    const { o } = options(cp({ streamSeq: 10_000 }));
    expect(await reconcileWithStream(o)).toMatchObject({ floor: seqOf.get('e35'), scanned: 0 });
  });

  it('an unreadable stream is SLUICE_RECONCILE_FAILED', async () => {
    const other = { ...config.nats, prefix: uniqueName('none') };
    const { o } = options(cp({ streamSeq: 0 }), { nats: other });
    await expect(reconcileWithStream(o)).rejects.toMatchObject({ code: 'SLUICE_RECONCILE_FAILED' });
  });
});
