import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessMeter } from '../meter.js';
import type { PhaseContext, ProcessFigures } from '../phase.js';

/**
 * A running count read at one instant. Times are `process.hrtime.bigint()` nanoseconds: that clock is
 * CLOCK_MONOTONIC, shared by every process on the host, so a child's timestamps compare with ours.
 */
export interface CountSample {
  readonly count: number;
  /** When the first unit was counted. */
  readonly firstAtNs?: bigint;
  /** When the source ran dry (the whole backlog, or the load's bound, was processed). */
  readonly doneAtNs?: bigint;
}

/** What {@link measureWindow} measured. */
export interface WindowOutcome {
  readonly count: number;
  readonly seconds: number;
  readonly processes: ProcessFigures[];
  readonly notes: string[];
}

const POLL_MS = 100;

/**
 * Lets the load run for `ctx.warmupMs`, then measures `ctx.durationMs`: units counted in the window and
 * CPU/RSS of `processes`. When the source runs dry inside the window (a bounded backlog or load was used
 * up), the window ends at that instant and a note says so; running dry during warm-up is an error,
 * because then nothing steady was measured.
 */
export async function measureWindow(
  ctx: PhaseContext,
  processes: readonly { name: string; pid: number }[],
  sample: () => CountSample | Promise<CountSample>,
): Promise<WindowOutcome> {
  await sleep(ctx.warmupMs);
  const s0 = await sample();
  if (s0.doneAtNs !== undefined)
    throw new Error(`benchmark: the load ran dry during warm-up (${s0.count} units); size it larger`);
  const meter = new ProcessMeter(processes);
  const t0 = process.hrtime.bigint();
  const endAt = t0 + BigInt(ctx.durationMs) * 1_000_000n;
  let last = s0;
  for (;;) {
    const now = process.hrtime.bigint();
    if (now >= endAt) break;
    await sleep(Math.min(POLL_MS, Number(endAt - now) / 1e6));
    last = await sample();
    if (last.doneAtNs !== undefined) break;
  }
  const t1 = last.doneAtNs ?? process.hrtime.bigint();
  const figures = meter.stop();
  const seconds = Number(t1 - t0) / 1e9;
  const notes: string[] = [];
  if (last.doneAtNs !== undefined) {
    notes.push(
      `the bounded load ran dry ${seconds.toFixed(1)} s into the ${(ctx.durationMs / 1000).toFixed(1)} s window; the window ends there`,
    );
  }
  return { count: last.count - s0.count, seconds, processes: figures, notes };
}

/** Options of {@link backlogSize}. */
export interface BacklogSizeOptions {
  /** Headroom over the calibrated rate (a cold calibration under-estimates the warm rate). */
  readonly margin: number;
  readonly min: number;
  readonly max: number;
  /** The backlog is a whole number of these. @default 1 */
  readonly multipleOf?: number;
}

/** Units a backlog needs to last warm-up plus window at `ratePerSecond`, within bounds. */
export function backlogSize(ratePerSecond: number, ctx: PhaseContext, o: BacklogSizeOptions): number {
  const want = (ratePerSecond * o.margin * (ctx.warmupMs + ctx.durationMs)) / 1000;
  const step = o.multipleOf ?? 1;
  const bounded = Math.min(o.max, Math.max(o.min, Number.isFinite(want) ? want : o.max));
  return Math.ceil(bounded / step) * step;
}

/**
 * Watches a calibration run until `sample` reports done, and returns its rate over the second half
 * (units per second): the first half includes connecting and a cold JIT, which under-estimates the
 * warm rate by up to 2× and would leave the backlog short.
 * @throws Error after `timeoutMs`.
 */
export async function calibrate(
  sample: () => CountSample | Promise<CountSample>,
  target: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let mid: { count: number; at: bigint } | undefined;
  for (;;) {
    const s = await sample();
    const at = process.hrtime.bigint();
    if (s.doneAtNs !== undefined) {
      if (mid !== undefined && s.doneAtNs > mid.at && s.count > mid.count)
        return (s.count - mid.count) / (Number(s.doneAtNs - mid.at) / 1e9);
      if (s.firstAtNs === undefined || s.doneAtNs <= s.firstAtNs) return Infinity;
      return s.count / (Number(s.doneAtNs - s.firstAtNs) / 1e9);
    }
    if (mid === undefined && s.count >= target / 2) mid = { count: s.count, at };
    if (Date.now() > deadline) throw new Error(`benchmark: calibration not done after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
