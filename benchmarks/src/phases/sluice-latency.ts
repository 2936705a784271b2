import type { Pool } from 'mysql2/promise';
import type { Receiver } from '../infra.js';
import { percentile } from '../meter.js';
import { insertSql } from '../payloads.js';
import type { LatencyFigures } from '../phase.js';
import { sleep } from './sluice-config.js';

/** Most single-row INSERTs in flight while pacing; beyond it the offered load falls behind. */
const MAX_IN_FLIGHT = 32;

/** Arrivals the receiver reported, by row id: its hrtime (ns) at the end of the request body. */
export type Arrivals = Map<string, bigint>;

/** Moves the receiver's arrivals since the last call into `into` (the first arrival of an id wins). */
export async function collectArrivals(receiver: Receiver, into?: Arrivals): Promise<number> {
  const s = await receiver.stats();
  if (into) for (const [id, at] of s.arrivals) if (!into.has(id)) into.set(id, BigInt(at));
  return s.count;
}

/** What one paced load did. */
export interface PacedLoad {
  /** Row id → hrtime (ns) when its INSERT returned, i.e. after the commit. */
  readonly commits: Map<string, bigint>;
  /** Rows per second actually issued (below the target when the database could not keep up). */
  readonly achievedPerSecond: number;
}

/**
 * Offers `perSecond` single-row autocommit INSERTs for `ms`, paced by a 1 ms timer against the
 * schedule (not one per tick: a late tick catches up), rows `firstId…`, at most
 * {@link MAX_IN_FLIGHT} at once. Records the monotonic time at which each INSERT returned.
 */
export async function pacedInserts(
  pool: Pool,
  perSecond: number,
  ms: number,
  firstId: number,
): Promise<PacedLoad> {
  const total = Math.max(1, Math.round((perSecond * ms) / 1000));
  const commits = new Map<string, bigint>();
  let issued = 0;
  let inFlight = 0;
  let failure: unknown;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const tick = (): void => {
      if (failure !== undefined) return reject(failure as Error);
      const due = Math.min(total, Math.floor(((performance.now() - t0) * perSecond) / 1000));
      while (issued < due && inFlight < MAX_IN_FLIGHT) {
        const id = firstId + issued++;
        inFlight++;
        pool.query(insertSql(id, 1)).then(
          () => {
            commits.set(String(id), process.hrtime.bigint());
            inFlight--;
          },
          (err: unknown) => (failure ??= err),
        );
      }
      if (issued >= total && inFlight === 0) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  return { commits, achievedPerSecond: (issued * 1000) / (performance.now() - t0) };
}

// Five buckets per decade from 10 µs: fine enough for a plot, short enough for a JSON file.
function bucketBound(k: number): number {
  return Number((0.01 * 10 ** (k / 5)).toPrecision(3));
}

/** Percentiles and a log-scale histogram of commit→arrival latencies, ms. */
export function latencyFigures(offeredPerSecond: number, ms: readonly number[]): LatencyFigures {
  const sorted = [...ms].sort((a, b) => a - b);
  const histogram: [number, number][] = [];
  let k = 0;
  const bucketAbove = (v: number): number => {
    while (bucketBound(k) < v) k++;
    return bucketBound(k);
  };
  for (const v of sorted) {
    // ≤ 0: the webhook arrived before the bench process saw its INSERT return (the commit is earlier
    // than the return, and the bench's event loop can be late); kept in a bucket of their own.
    const bound = v <= 0 ? 0 : bucketAbove(v);
    const last = histogram[histogram.length - 1];
    if (last && last[0] === bound) last[1]++;
    else histogram.push([bound, 1]);
  }
  return {
    offeredPerSecond,
    samples: sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    histogram,
  };
}

/**
 * One fixed offered load: paced INSERTs, then waiting (bounded) for every row's webhook, then the
 * commit→webhook latencies. Rows that never arrived within `settleMs` are reported, not hidden.
 */
export async function latencyAtLoad(
  pool: Pool,
  receiver: Receiver,
  perSecond: number,
  ms: number,
  firstId: number,
  settleMs: number,
): Promise<{ figures: LatencyFigures; rows: number; note: string }> {
  const arrivals: Arrivals = new Map();
  await collectArrivals(receiver); // drop anything older
  const load = await pacedInserts(pool, perSecond, ms, firstId);
  const deadline = Date.now() + settleMs;
  for (;;) {
    await collectArrivals(receiver, arrivals);
    let all = true;
    for (const id of load.commits.keys()) if (!arrivals.has(id)) all = false;
    if (all || Date.now() > deadline) break;
    await sleep(50);
  }
  const ms_: number[] = [];
  let missing = 0;
  for (const [id, committed] of load.commits) {
    const at = arrivals.get(id);
    if (at === undefined) missing++;
    else ms_.push(Number(at - committed) / 1e6);
  }
  const early = ms_.filter((v) => v <= 0).length;
  const note =
    `latency at ${perSecond}/s: ${load.commits.size} rows over ${ms} ms, issued at ${Math.round(load.achievedPerSecond)}/s` +
    (missing > 0 ? `, ${missing} not delivered within ${settleMs} ms` : '') +
    (early > 0 ? `, ${early} arrived before their INSERT returned (latency ≤ 0)` : '');
  return { figures: latencyFigures(perSecond, ms_), rows: load.commits.size, note };
}
