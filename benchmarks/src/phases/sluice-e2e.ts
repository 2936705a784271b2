import type { Pool } from 'mysql2/promise';
import { freePort } from '@sluice/embedded';
import type { Receiver } from '../infra.js';
import { ProcessMeter } from '../meter.js';
import { insertSql } from '../payloads.js';
import {
  figures,
  type LatencyFigures,
  type Phase,
  type PhaseContext,
  type PhaseResult,
  type ProcessFigures,
} from '../phase.js';
import { monotonicMicros, sleep, sluiceConfig, sluiceNodeArgs } from './sluice-config.js';
import { collectArrivals, latencyAtLoad } from './sluice-latency.js';
import { rootPool } from './sluice-rows.js';

/** Rows per INSERT of the full-speed load: small transactions, as an OLTP application writes. */
const ROWS_PER_INSERT = 100;
/** Connections inserting at full speed. */
const INSERTERS = 2;
/** Most rows inserted but not yet delivered: the full-speed load waits beyond it (bounded backlog). */
const MAX_LAG_ROWS = 5_000;
const POLL_MS = 50;

interface E2eOptions {
  readonly name: string;
  readonly title: string;
  /** Endpoints, each with one subscription to every bench row. */
  readonly endpoints: number;
  /** How many of them point at a port nothing listens on. */
  readonly dead: number;
  /** Also measure commit→webhook latency at fixed offered loads. */
  readonly latency: boolean;
}

/** The full-speed insert load and the delivered count, both in rows (events). */
class FullSpeedLoad {
  inserted = 0;
  delivered = 0;
  /** Set whenever an inserter had to wait on {@link MAX_LAG_ROWS}. */
  throttled = false;
  #next = 1;
  #running = true;
  readonly #workers: Promise<void>[];
  readonly #poller: Promise<void>;

  constructor(pool: Pool, receiver: Receiver, healthy: number) {
    this.#workers = Array.from({ length: INSERTERS }, async () => {
      while (this.#running) {
        if (this.inserted - this.delivered > MAX_LAG_ROWS) {
          this.throttled = true;
          await sleep(5);
          continue;
        }
        const first = this.#next;
        this.#next += ROWS_PER_INSERT;
        await pool.query(insertSql(first, ROWS_PER_INSERT));
        this.inserted += ROWS_PER_INSERT;
      }
    });
    this.#poller = (async () => {
      while (this.#running) {
        this.delivered = (await collectArrivals(receiver)) / healthy;
        await sleep(POLL_MS);
      }
    })();
  }

  /** The next unused row id. */
  get nextId(): number {
    return this.#next;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all([...this.#workers, this.#poller]);
  }
}

/**
 * End to end, INSERT → webhook, with `sluice up` (capture, router and deliverer in one process)
 * against the harness's nats-server and mariadbd.
 *
 * Throughput: the bench client inserts at full speed (100-row INSERTs on two connections) through
 * warm-up and window, holding back only when more than 5,000 rows are inserted but not yet
 * delivered, so the backlog stays bounded; webhooks counted at the receiver within the window are
 * the throughput, and `lagGrowing` says the offer exceeded it (the throughput is then sluice's
 * sustained ceiling). Every process on the path is metered — mariadbd writing and serving the
 * binlog and the bench client inserting included — because that is what the pipeline costs;
 * e2e / raw-jetstream-publish compares it with the broker's limit from Node.
 *
 * Latency (fan-out 1 only): after the backlog drained, single-row autocommit INSERTs paced at 100/s,
 * 1,000/s and 50 % of the measured throughput; the commit time is the bench process's monotonic
 * clock when the INSERT returned, the arrival the receiver's when the body ended (CLOCK_MONOTONIC
 * is one clock for every process on the host).
 */
function e2ePhase(o: E2eOptions): Phase {
  return {
    name: o.name,
    title: o.title,
    kind: 'sluice',
    run: (ctx) => runE2e(ctx, o),
  };
}

async function runE2e(ctx: PhaseContext, o: E2eOptions): Promise<PhaseResult> {
  const nats = await ctx.infra.nats();
  const db = await ctx.infra.mariadb();
  const receiver = await ctx.infra.receiver({ latency: o.latency });
  const urls: string[] = [];
  for (let i = 0; i < o.endpoints; i++)
    urls.push(i < o.dead ? `http://127.0.0.1:${await freePort()}/dead` : `${receiver.url}?endpoint=${i}`);
  const healthy = o.endpoints - o.dead;
  const raw = sluiceConfig({ natsUrl: nats.url, sourceUrl: db.captureUrl, endpointUrls: urls, ctx });
  const child = ctx.infra.sluice('up', raw, sluiceNodeArgs());
  await child.ready;
  const pool = rootPool(db.rootUrl, 16);
  const notes: string[] = [];
  try {
    ctx.progress('sluice up; inserting at full speed');
    const load = new FullSpeedLoad(pool, receiver, healthy);
    await sleep(ctx.warmupMs);
    const meter = new ProcessMeter([
      { name: 'sluice-up', pid: child.pid },
      { name: 'nats-server', pid: nats.pid },
      { name: 'mariadbd', pid: db.pid },
      { name: 'receiver', pid: receiver.pid },
      { name: 'bench-client', pid: process.pid },
    ]);
    load.throttled = false;
    const [i0, d0, w0] = [load.inserted, load.delivered, monotonicMicros()];
    const t0 = performance.now();
    await sleep(ctx.durationMs);
    const [i1, d1, w1] = [load.inserted, load.delivered, monotonicMicros()];
    const seconds = (performance.now() - t0) / 1000;
    const processes: ProcessFigures[] = meter.stop();
    const lagGrowing = load.throttled;
    await load.stop();
    const count = d1 - d0;
    notes.push(
      `rows inserted in the window ${i1 - i0}, delivered ${Math.round(count)}; lag ${Math.round(i0 - d0)} → ${Math.round(i1 - d1)} rows` +
        (lagGrowing ? ` (the inserter was held at the ${MAX_LAG_ROWS}-row bound: offer > throughput)` : ''),
    );
    if (o.endpoints > 1)
      notes.push(
        `${o.endpoints} endpoints, ${o.dead} dead; ${Math.round(count * healthy)} healthy deliveries`,
      );
    if (sluiceNodeArgs().length > 0) notes.push(`window on the monotonic clock: ${w0}–${w1} µs`);

    const latency: LatencyFigures[] = [];
    if (o.latency) {
      const max = count / seconds;
      latency.push(...(await measureLatency(ctx, pool, receiver, load, max, notes)));
    }
    return figures(o.name, 'events', count, seconds, processes, {
      lagGrowing,
      notes,
      ...(o.latency ? { latency } : {}),
    });
  } finally {
    await pool.end();
    await child.stop();
  }
}

async function measureLatency(
  ctx: PhaseContext,
  pool: Pool,
  receiver: Receiver,
  load: FullSpeedLoad,
  maxPerSecond: number,
  notes: string[],
): Promise<LatencyFigures[]> {
  // The throughput backlog must be gone, or the first paced rows would queue behind it.
  const drainMs = ctx.mode === 'quick' ? 20_000 : 120_000;
  const deadline = Date.now() + drainMs;
  let delivered = await collectArrivals(receiver);
  while (delivered < load.inserted && Date.now() < deadline) {
    await sleep(POLL_MS);
    delivered = await collectArrivals(receiver);
  }
  if (delivered < load.inserted)
    notes.push(`throughput backlog not drained within ${drainMs} ms: ${load.inserted - delivered} rows left`);
  const loadMs = ctx.mode === 'quick' ? 2_000 : ctx.durationMs;
  const settleMs = ctx.mode === 'quick' ? 10_000 : 30_000;
  let nextId = load.nextId;
  const out: LatencyFigures[] = [];
  for (const perSecond of [100, 1_000, Math.max(1, Math.round(maxPerSecond / 2))]) {
    ctx.progress(`latency at ${perSecond}/s`);
    const r = await latencyAtLoad(pool, receiver, perSecond, loadMs, nextId, settleMs);
    nextId += r.rows;
    out.push(r.figures);
    notes.push(r.note);
  }
  return out;
}

/** End to end at fan-out 1, throughput and latency. */
export const e2ePhase1 = e2ePhase({
  name: 'e2e',
  title: 'sluice up: INSERT → webhook at fan-out 1 (throughput, commit→webhook latency)',
  endpoints: 1,
  dead: 0,
  latency: true,
});

/** End to end at fan-out 10, every endpoint healthy: the baseline of e2e-one-dead. */
export const e2eFanout10 = e2ePhase({
  name: 'e2e-fanout-10',
  title: 'sluice up: INSERT → webhook at fan-out 10, all endpoints healthy (events/s per endpoint)',
  endpoints: 10,
  dead: 0,
  latency: false,
});

/**
 * End to end at fan-out 10 with one endpoint refusing connections, default retry settings: what the
 * dead endpoint costs the nine healthy ones (I6 in docs/architecture.md). Compared with
 * e2e-fanout-10, the same setup with ten healthy endpoints.
 */
export const e2eOneDead = e2ePhase({
  name: 'e2e-one-dead',
  title: 'sluice up: INSERT → webhook at fan-out 10 with 1 endpoint dead (events/s per healthy endpoint)',
  endpoints: 10,
  dead: 1,
  latency: false,
});
