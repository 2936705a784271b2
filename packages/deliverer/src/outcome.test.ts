import { describe, expect, it } from 'vitest';
import type { HttpResult } from './http-dispatch.js';
import { classify, type StatusPolicy } from './outcome.js';
import type { RetryPolicy } from './retry-schedule.js';

const RETRY: RetryPolicy = { schedule: [0, 1_000, 60_000], jitter: 0, retryAfterMaxMs: 600_000 };
const STATUSES: StatusPolicy = {
  nonRetryable: new Set([400, 401, 403, 404, 413, 422]),
  throttle: new Set([429, 502, 503, 504]),
};
const NOW = Date.parse('2025-03-14T10:00:00Z');
const http = (status: number, headers: Record<string, string> = {}): HttpResult => ({
  ok: true,
  status,
  headers,
  excerpt: `body of ${status}`,
  latencyMs: 12,
});
const run = (r: HttpResult, attempt = 1) => classify(r, attempt, RETRY, STATUSES, NOW, () => 0.5);

describe('classify', () => {
  it.each([200, 201, 202, 204, 299])('maps %i to delivered, a success for the endpoint', (status) => {
    expect(run(http(status))).toEqual({
      outcome: { kind: 'delivered', status, latencyMs: 12 },
      signal: { failure: false, throttle: false, gone: false },
    });
  });

  it.each([301, 302, 307, 308, 500, 501, 505, 409, 199])(
    'retries %i on the schedule, carrying status and excerpt, and counts it as a failure',
    (status) => {
      expect(run(http(status))).toEqual({
        outcome: {
          kind: 'retry',
          attempt: 2,
          delayMs: 1_000,
          reason: 'http-status',
          status,
          excerpt: `body of ${status}`,
          latencyMs: 12,
        },
        signal: { failure: true, throttle: false, pauseMs: undefined, gone: false },
      });
    },
  );

  it.each([400, 401, 403, 404, 413, 422])(
    'dead-letters non-retryable %i at once; the endpoint is up',
    (status) => {
      expect(run(http(status), 1)).toEqual({
        outcome: {
          kind: 'dead-letter',
          reason: 'non-retryable-status',
          attempts: 1,
          status,
          excerpt: `body of ${status}`,
          latencyMs: 12,
        },
        signal: { failure: false, throttle: false, gone: false },
      });
    },
  );

  it('disables on 410 Gone', () => {
    expect(run(http(410))).toEqual({
      outcome: { kind: 'gone', status: 410, latencyMs: 12 },
      signal: { failure: false, throttle: false, gone: true },
    });
  });

  it('throttles on 429 without counting it against the breaker, and pauses for its Retry-After', () => {
    const { outcome, signal } = run(http(429, { 'retry-after': '30' }));
    expect(outcome).toMatchObject({ kind: 'retry', attempt: 2, delayMs: 30_000, status: 429 });
    expect(signal).toEqual({ failure: false, throttle: true, pauseMs: 30_000, gone: false });
  });

  it.each([502, 503, 504])('throttles on %i and counts it as a failure', (status) => {
    const date = 'Fri, 14 Mar 2025 10:02:00 GMT';
    const { outcome, signal } = run(http(status, { 'retry-after': date }));
    expect(outcome).toMatchObject({ kind: 'retry', delayMs: 120_000, status });
    expect(signal).toEqual({ failure: true, throttle: true, pauseMs: 120_000, gone: false });
    expect(run(http(status)).signal).toEqual({
      failure: true,
      throttle: true,
      pauseMs: undefined,
      gone: false,
    });
  });

  it('clamps a huge Retry-After for both the message and the pause', () => {
    const { outcome, signal } = run(http(503, { 'retry-after': '31536000' }));
    expect(outcome).toMatchObject({ delayMs: 600_000 });
    expect(signal.pauseMs).toBe(600_000);
  });

  it('ignores Retry-After on a status that does not throttle, and a garbage one', () => {
    expect(run(http(500, { 'retry-after': '30' })).outcome).toMatchObject({ delayMs: 1_000 });
    expect(run(http(503, { 'retry-after': 'abc 3000' })).outcome).toMatchObject({ delayMs: 1_000 });
  });

  it.each(['network', 'timeout'] as const)('retries a %s failure and counts it as a failure', (error) => {
    const r: HttpResult = { ok: false, error, message: 'ECONNREFUSED: connect failed', latencyMs: 5 };
    expect(run(r)).toEqual({
      outcome: {
        kind: 'retry',
        attempt: 2,
        delayMs: 1_000,
        reason: error,
        error,
        excerpt: 'ECONNREFUSED: connect failed',
        latencyMs: 5,
      },
      signal: { failure: true, throttle: false, gone: false },
    });
  });

  it('dead-letters as exhausted when the schedule is spent', () => {
    expect(run(http(500), 3).outcome).toEqual({
      kind: 'dead-letter',
      reason: 'exhausted',
      attempts: 3,
      status: 500,
      excerpt: 'body of 500',
      latencyMs: 12,
    });
    const r: HttpResult = { ok: false, error: 'timeout', message: 'HeadersTimeout', latencyMs: 5 };
    expect(run(r, 3).outcome).toMatchObject({ kind: 'dead-letter', reason: 'exhausted', error: 'timeout' });
  });

  it('retries a connection blocked by its DNS answer on the schedule: the answer can change', () => {
    const message = 'SLUICE_ENDPOINT_URL_BLOCKED: 10.0.0.1 (hooks.example) is private (RFC 1918), …';
    const r: HttpResult = { ok: false, error: 'blocked', message, latencyMs: 3 };
    expect(run(r)).toEqual({
      outcome: {
        kind: 'retry',
        attempt: 2,
        delayMs: 1_000,
        reason: 'blocked',
        error: 'blocked',
        excerpt: message,
        latencyMs: 3,
      },
      signal: { failure: true, throttle: false, gone: false },
    });
    expect(run(r, 3).outcome).toMatchObject({ kind: 'dead-letter', reason: 'exhausted', error: 'blocked' });
  });

  it('dead-letters a URL the policy refuses by itself at once: only a configuration change can fix it', () => {
    const message = 'SLUICE_ENDPOINT_URL_BLOCKED: 127.0.0.1 is loopback, …';
    const r: HttpResult = { ok: false, error: 'blocked', permanent: true, message, latencyMs: 0 };
    expect(run(r)).toEqual({
      outcome: {
        kind: 'dead-letter',
        reason: 'blocked',
        attempts: 1,
        error: 'blocked',
        excerpt: message,
        latencyMs: 0,
      },
      signal: { failure: true, throttle: false, gone: false },
    });
  });
});
