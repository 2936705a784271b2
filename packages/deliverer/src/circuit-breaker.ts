/**
 * Per-endpoint circuit breaker as pure transitions over immutable state: the caller owns the clock
 * and passes `nowMs` in (conventions: never read the clock deep inside policy).
 *
 * Two triggers open it: a run of consecutive failures, and a failing fraction of a tumbling window.
 * The ratio alone was slow to see an outage: an endpoint that turned from healthy to 503 took about
 * 1,000 failed requests (8 s) before its window's earlier successes were outweighed. The run sees it
 * after a handful, as Envoy's outlier detection does (5 consecutive 5xx by default); the ratio still
 * catches an endpoint that fails often without ever failing many times in a row.
 * See docs/decisions/0007-delivery-engine.md.
 */

/** Breaker thresholds, as data (config `deliverer.breaker*`). */
export interface BreakerPolicy {
  /** Length of the tumbling window over which attempts are counted, ms. */
  readonly windowMs: number;
  /** Attempts a window needs before it can open the breaker. */
  readonly minRequests: number;
  /** Failing fraction of a window's attempts that opens the breaker, (0, 1]. */
  readonly failureRatio: number;
  /** Failures in a row (across windows) that open the breaker; 0: only the ratio opens it. */
  readonly consecutiveFailures: number;
  /** First open period, ms; doubles with each failed probe. */
  readonly openMs: number;
  /** Longest open period, ms. */
  readonly maxOpenMs: number;
  /** Deliveries allowed in flight while half-open; that many successes close the breaker. */
  readonly probes: number;
}

/** State of one endpoint's breaker. */
export type BreakerState =
  | {
      readonly kind: 'closed';
      readonly windowStartMs: number;
      readonly ok: number;
      readonly failed: number;
      /** Failures since the last success, whatever window they fell in. */
      readonly streak: number;
    }
  | { readonly kind: 'open'; readonly untilMs: number; /** This open period, ms. */ readonly openMs: number }
  | { readonly kind: 'half-open'; readonly openMs: number; readonly successes: number };

/** A closed breaker with an empty window and no failure run. */
export function closedBreaker(nowMs: number): BreakerState {
  return { kind: 'closed', windowStartMs: nowMs, ok: 0, failed: 0, streak: 0 };
}

/** An open breaker, e.g. one another process opened (shared through KV). */
export function openBreaker(untilMs: number, openMs: number): BreakerState {
  return { kind: 'open', untilMs, openMs };
}

/** The state at `nowMs` without an attempt: an open breaker whose period ended is half-open. */
export function tick(s: BreakerState, p: BreakerPolicy, nowMs: number): BreakerState {
  if (s.kind === 'open' && nowMs >= s.untilMs) return { kind: 'half-open', openMs: s.openMs, successes: 0 };
  // A new window forgets the counts, not the run of failures: an outage may straddle two windows.
  if (s.kind === 'closed' && nowMs - s.windowStartMs >= p.windowMs)
    return { kind: 'closed', windowStartMs: nowMs, ok: 0, failed: 0, streak: s.streak };
  return s;
}

/** How many deliveries may be in flight in this state: unlimited (`Infinity`), the probes, or 0. */
export function admits(s: BreakerState, p: BreakerPolicy): number {
  switch (s.kind) {
    case 'closed':
      return Number.POSITIVE_INFINITY;
    case 'half-open':
      return p.probes;
    case 'open':
      return 0;
  }
}

/**
 * The state after one attempt ended at `nowMs`, succeeding or failing. A closed breaker opens on a
 * failure that makes `consecutiveFailures` in a row, or that brings a window of at least
 * `minRequests` attempts to `failureRatio`.
 */
export function record(s: BreakerState, p: BreakerPolicy, success: boolean, nowMs: number): BreakerState {
  const t = tick(s, p, nowMs);
  switch (t.kind) {
    case 'closed': {
      if (success) return { ...t, ok: t.ok + 1, streak: 0 };
      const failed = t.failed + 1;
      const streak = t.streak + 1;
      const total = t.ok + failed;
      const run = p.consecutiveFailures > 0 && streak >= p.consecutiveFailures;
      if (run || (total >= p.minRequests && failed / total >= p.failureRatio))
        return openBreaker(nowMs + p.openMs, p.openMs);
      return { ...t, failed, streak };
    }
    case 'half-open': {
      if (!success) {
        const openMs = Math.min(p.maxOpenMs, t.openMs * 2);
        return openBreaker(nowMs + openMs, openMs);
      }
      const successes = t.successes + 1;
      return successes >= p.probes ? closedBreaker(nowMs) : { ...t, successes };
    }
    case 'open':
      // An attempt that started before the breaker opened: its result changes nothing.
      return t;
  }
}
