import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryDelayMs } from './backoff.js';

const NO_JITTER = { minMs: 100, maxMs: 10_000, jitter: 0 };

describe('retryDelayMs', () => {
  it('doubles from minMs with each failed attempt', () => {
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(a, NO_JITTER, undefined))).toEqual([
      100, 200, 400, 800, 1600,
    ]);
  });

  it('is capped at maxMs, also for absurd attempt counts', () => {
    expect(retryDelayMs(8, NO_JITTER, undefined)).toBe(10_000);
    expect(retryDelayMs(1_000, NO_JITTER, undefined)).toBe(10_000);
    expect(retryDelayMs(Number.MAX_SAFE_INTEGER, NO_JITTER, undefined)).toBe(10_000);
  });

  it('treats attempt 0 like the first attempt', () => {
    expect(retryDelayMs(0, NO_JITTER, undefined)).toBe(100);
  });

  it('spreads the delay over ±jitter using the injected random source', () => {
    const policy = { minMs: 1_000, maxMs: 60_000, jitter: 0.2 };
    expect(retryDelayMs(1, policy, undefined, () => 0)).toBe(800);
    expect(retryDelayMs(1, policy, undefined, () => 0.5)).toBe(1_000);
    expect(retryDelayMs(1, policy, undefined, () => 0.999_999)).toBe(1_200);
    expect(retryDelayMs(3, policy, undefined, () => 0)).toBe(3_200);
    for (let i = 0; i <= 100; i++) {
      const r = i / 101;
      const d = retryDelayMs(2, policy, undefined, () => r);
      expect(d).toBeGreaterThanOrEqual(1_600);
      expect(d).toBeLessThanOrEqual(2_400);
    }
  });

  it('uses a jitter of 0.2 when the policy names none', () => {
    const policy = { minMs: 1_000, maxMs: 60_000 };
    expect(retryDelayMs(1, policy, undefined, () => 0)).toBe(800);
    expect(retryDelayMs(1, policy, undefined, () => 0.999_999)).toBe(1_200);
  });

  it('never exceeds maxMs, even with jitter upwards', () => {
    const policy = { minMs: 1_000, maxMs: 4_000, jitter: 0.5 };
    expect(retryDelayMs(3, policy, undefined, () => 0.999_999)).toBe(4_000);
    expect(retryDelayMs(3, policy, undefined, () => 0)).toBe(2_000);
  });

  it('waits for a longer Retry-After, ignores a shorter one, and caps it at maxMs', () => {
    expect(retryDelayMs(1, NO_JITTER, 5_000)).toBe(5_000);
    expect(retryDelayMs(4, NO_JITTER, 10)).toBe(800);
    expect(retryDelayMs(1, NO_JITTER, 0)).toBe(100);
    expect(retryDelayMs(1, NO_JITTER, 3_600_000)).toBe(10_000);
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
