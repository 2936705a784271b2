import { describe, expect, it } from 'vitest';
import {
  admits,
  closedBreaker,
  openBreaker,
  record,
  tick,
  type BreakerPolicy,
  type BreakerState,
} from './circuit-breaker.js';

const P: BreakerPolicy = {
  windowMs: 1_000,
  minRequests: 4,
  failureRatio: 0.5,
  openMs: 100,
  maxOpenMs: 350,
  probes: 2,
};

/** Feeds results in order, one ms apart from `t0`, and returns the final state. */
function feed(s: BreakerState, results: boolean[], t0: number): BreakerState {
  return results.reduce((state, ok, i) => record(state, P, ok, t0 + i), s);
}

describe('circuit breaker', () => {
  it('stays closed below the minimum request count, however bad the ratio', () => {
    const s = feed(closedBreaker(0), [false, false, false], 0);
    expect(s).toMatchObject({ kind: 'closed', failed: 3, ok: 0 });
    expect(admits(s, P)).toBe(Number.POSITIVE_INFINITY);
  });

  it('opens when a window reaches the minimum count at the failure ratio', () => {
    const s = feed(closedBreaker(0), [true, false, true, false], 10);
    expect(s).toEqual({ kind: 'open', untilMs: 13 + 100, openMs: 100 });
    expect(admits(s, P)).toBe(0);
  });

  it('stays closed while failures stay under the ratio', () => {
    const s = feed(closedBreaker(0), [true, true, false, true, true, false, true], 0);
    expect(s.kind).toBe('closed');
  });

  it('forgets a window once it has passed', () => {
    const half = feed(closedBreaker(0), [false, false, false], 0);
    // The fourth failure lands in a new window: one failure of one, under the minimum count.
    expect(record(half, P, false, 1_000)).toEqual({ kind: 'closed', windowStartMs: 1_000, ok: 0, failed: 1 });
  });

  it('turns half-open when the open period ends, admitting the probes only', () => {
    const open = openBreaker(500, 100);
    expect(tick(open, P, 499)).toBe(open);
    const half = tick(open, P, 500);
    expect(half).toEqual({ kind: 'half-open', openMs: 100, successes: 0 });
    expect(admits(half, P)).toBe(2);
  });

  it('closes after as many successful probes as it admits', () => {
    const half: BreakerState = { kind: 'half-open', openMs: 100, successes: 0 };
    const one = record(half, P, true, 600);
    expect(one).toEqual({ kind: 'half-open', openMs: 100, successes: 1 });
    expect(record(one, P, true, 601)).toEqual(closedBreaker(601));
  });

  it('reopens on a failed probe for twice as long, up to maxOpenMs', () => {
    let s: BreakerState = { kind: 'half-open', openMs: 100, successes: 1 };
    const periods: number[] = [];
    for (let t = 0; t < 4; t++) {
      s = record(s, P, false, t * 1_000);
      if (s.kind !== 'open') throw new Error('expected open');
      periods.push(s.openMs);
      expect(s.untilMs).toBe(t * 1_000 + s.openMs);
      s = tick(s, P, s.untilMs);
    }
    expect(periods).toEqual([200, 350, 350, 350]);
  });

  it('ignores results of attempts that started before it opened', () => {
    const open = openBreaker(500, 100);
    expect(record(open, P, true, 400)).toBe(open);
    expect(record(open, P, false, 400)).toBe(open);
  });
});
