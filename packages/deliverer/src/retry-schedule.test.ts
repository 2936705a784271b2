import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE_MS } from '@sluice/core';
import { nextAttempt, parseRetryAfter, scheduleSpanMs, type RetryPolicy } from './retry-schedule.js';

const EXACT: RetryPolicy = { schedule: [0, 100, 1_000, 10_000], jitter: 0, retryAfterMaxMs: 60_000 };

describe('nextAttempt', () => {
  it('follows the schedule: after attempt n fails, attempt n + 1 waits schedule[n]', () => {
    expect([1, 2, 3].map((n) => nextAttempt(n, EXACT, undefined))).toEqual([
      { kind: 'retry', attempt: 2, delayMs: 100 },
      { kind: 'retry', attempt: 3, delayMs: 1_000 },
      { kind: 'retry', attempt: 4, delayMs: 10_000 },
    ]);
  });

  it('is exhausted once every scheduled attempt was made, also for absurd attempt numbers', () => {
    expect(nextAttempt(4, EXACT, undefined)).toEqual({ kind: 'exhausted', attempts: 4 });
    expect(nextAttempt(1_000, EXACT, undefined)).toEqual({ kind: 'exhausted', attempts: 1_000 });
    expect(nextAttempt(1, { ...EXACT, schedule: [0] }, undefined)).toEqual({
      kind: 'exhausted',
      attempts: 1,
    });
  });

  it('treats attempt 0 or a fraction like the first attempt', () => {
    expect(nextAttempt(0, EXACT, undefined)).toEqual({ kind: 'retry', attempt: 2, delayMs: 100 });
    expect(nextAttempt(1.7, EXACT, undefined)).toEqual({ kind: 'retry', attempt: 2, delayMs: 100 });
  });

  it('spreads each delay over ±jitter using the injected random source', () => {
    const policy = { ...EXACT, jitter: 0.2 };
    const delay = (n: number, r: number): number => {
      const next = nextAttempt(n, policy, undefined, () => r);
      return next.kind === 'retry' ? next.delayMs : -1;
    };
    expect(delay(2, 0)).toBe(800);
    expect(delay(2, 0.5)).toBe(1_000);
    expect(delay(2, 0.999_999)).toBe(1_200);
    for (let i = 0; i <= 100; i++) {
      const d = delay(3, i / 101);
      expect(d).toBeGreaterThanOrEqual(8_000);
      expect(d).toBeLessThanOrEqual(12_000);
    }
  });

  it('waits for a longer Retry-After, ignores a shorter one, and clamps it to retryAfterMaxMs', () => {
    expect(nextAttempt(1, EXACT, 5_000)).toMatchObject({ delayMs: 5_000 });
    expect(nextAttempt(3, EXACT, 10)).toMatchObject({ delayMs: 10_000 });
    expect(nextAttempt(1, EXACT, 0)).toMatchObject({ delayMs: 100 });
    // A hostile or broken endpoint cannot hold a delivery for a year.
    expect(nextAttempt(1, EXACT, 31_536_000_000)).toMatchObject({ delayMs: 60_000 });
    expect(nextAttempt(1, EXACT, -5)).toMatchObject({ delayMs: 100 });
  });

  it('does not let a Retry-After extend a spent schedule', () => {
    expect(nextAttempt(4, EXACT, 1_000)).toEqual({ kind: 'exhausted', attempts: 4 });
  });

  it('has a default schedule that spans more than three days', () => {
    expect(DEFAULT_RETRY_SCHEDULE_MS[0]).toBe(0);
    expect(scheduleSpanMs(DEFAULT_RETRY_SCHEDULE_MS)).toBeGreaterThan(3 * 24 * 3600_000);
    // Even with every delay jittered down by the default 20 %.
    expect(scheduleSpanMs(DEFAULT_RETRY_SCHEDULE_MS) * 0.8).toBeGreaterThan(2.4 * 24 * 3600_000);
  });
});

describe('parseRetryAfter', () => {
  const NOW = Date.parse('2025-03-14T10:00:00Z');

  it('reads delta seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter(' 5 ', NOW)).toBe(5_000);
  });

  it('reads an HTTP date relative to now, and a past date as 0', () => {
    expect(parseRetryAfter('Fri, 14 Mar 2025 10:01:30 GMT', NOW)).toBe(90_000);
    expect(parseRetryAfter('Fri, 14 Mar 2025 09:00:00 GMT', NOW)).toBe(0);
    // The two obsolete formats RFC 9110 §5.6.7 still requires recipients to accept.
    expect(parseRetryAfter('Friday, 14-Mar-25 10:00:10 GMT', NOW)).toBe(10_000);
    expect(parseRetryAfter('Fri Mar 14 10:00:20 2025', NOW)).toBe(20_000);
  });

  it('takes the first of repeated headers', () => {
    expect(parseRetryAfter(['7', '99'], NOW)).toBe(7_000);
  });

  it('returns undefined when absent', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
    expect(parseRetryAfter([], NOW)).toBeUndefined();
  });

  it('returns undefined for garbage, including strings a lenient date parser would accept', () => {
    for (const garbage of [
      'soon',
      'later 2',
      '1.5',
      '-1',
      '+5',
      '1e3',
      '0x10',
      'Infinity',
      'abc 3000',
      '3000 years',
      'tomorrow 12:00',
    ]) {
      expect({ garbage, ms: parseRetryAfter(garbage, NOW) }).toEqual({ garbage, ms: undefined });
    }
  });
});
