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
  consecutiveFailures: 5,
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
    expect(record(half, P, false, 1_000)).toEqual({
      kind: 'closed',
      windowStartMs: 1_000,
      ok: 0,
      failed: 1,
      streak: 4,
    });
  });

  it('opens on consecutiveFailures failures in a row, however many successes the window holds', () => {
    const healthy = feed(closedBreaker(0), Array<boolean>(300).fill(true), 0);
    const four = feed(healthy, [false, false, false, false], 300);
    expect(four).toMatchObject({ kind: 'closed', ok: 300, failed: 4, streak: 4 });
    expect(record(four, P, false, 304)).toEqual({ kind: 'open', untilMs: 304 + 100, openMs: 100 });
  });

  it('starts the run of failures afresh after a success', () => {
    const healthy = feed(closedBreaker(0), Array<boolean>(300).fill(true), 0);
    const s = feed(healthy, [false, false, false, false, true, false, false, false, false], 300);
    expect(s).toMatchObject({ kind: 'closed', failed: 8, streak: 4 });
  });

  it('counts a run of failures across windows', () => {
    const healthy = feed(closedBreaker(0), Array<boolean>(300).fill(true), 0);
    const three = feed(healthy, [false, false, false], 997);
    expect(three).toMatchObject({ kind: 'closed', windowStartMs: 0, streak: 3 });
    // The window turns at 1,000: its counts go, the run stays.
    const four = record(three, P, false, 1_000);
    expect(four).toEqual({ kind: 'closed', windowStartMs: 1_000, ok: 0, failed: 1, streak: 4 });
    expect(record(four, P, false, 1_001).kind).toBe('open');
  });

  it('opens on the ratio only when consecutiveFailures is 0', () => {
    const ratioOnly: BreakerPolicy = { ...P, windowMs: 1_000_000, consecutiveFailures: 0 };
    let s = closedBreaker(0);
    for (let i = 0; i < 100; i++) s = record(s, ratioOnly, true, i);
    for (let i = 0; i < 99; i++) s = record(s, ratioOnly, false, 100 + i);
    expect(s).toMatchObject({ kind: 'closed', ok: 100, failed: 99, streak: 99 });
    expect(record(s, ratioOnly, false, 199).kind).toBe('open');
  });

  it('turns half-open when the open period ends, admitting the probes only', () => {
    const open = openBreaker(500, 100);
    expect(tick(open, P, 499)).toBe(open);
    const half = tick(open, P, 500);
    expect(half).toEqual({ kind: 'half-open', openMs: 100, successes: 0 });
    expect(admits(half, P)).toBe(2);
  });

  it('closes after as many successful probes as it admits, with no failure run', () => {
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
