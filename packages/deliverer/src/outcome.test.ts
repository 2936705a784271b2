import type { JsMsg } from '@nats-io/jetstream';
import type { DelivererConfig } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { outcomeOf } from './deliverer.js';
import type { HttpResult } from './http-dispatch.js';
import { settle, settlementOf, type Outcome } from './outcome.js';

describe('settlementOf', () => {
  it('acks a delivered outcome', () => {
    expect(settlementOf({ kind: 'delivered', status: 204, latencyMs: 3 })).toEqual({ action: 'ack' });
  });

  it('naks a retry with its delay', () => {
    expect(settlementOf({ kind: 'retry', delayMs: 1_500, reason: 'http-status', status: 503 })).toEqual({
      action: 'nak',
      delayMs: 1_500,
    });
    expect(settlementOf({ kind: 'retry', delayMs: 0, reason: 'timeout' })).toEqual({
      action: 'nak',
      delayMs: 0,
    });
  });

  it('terminates a give-up', () => {
    expect(settlementOf({ kind: 'give-up', reason: 'unknown-endpoint' })).toEqual({ action: 'term' });
  });
});

describe('settle', () => {
  // A recording stand-in for the three JsMsg calls settle may make; pure dispatch, no I/O to fake.
  function recordingMsg(): { msg: JsMsg; calls: unknown[][] } {
    const calls: unknown[][] = [];
    const msg = {
      ack: () => calls.push(['ack']),
      nak: (delay?: number) => calls.push(['nak', delay]),
      term: () => calls.push(['term']),
    } as unknown as JsMsg;
    return { msg, calls };
  }

  it.each<[Outcome, unknown[]]>([
    [{ kind: 'delivered', status: 200, latencyMs: 1 }, ['ack']],
    [{ kind: 'retry', delayMs: 250, reason: 'network' }, ['nak', 250]],
    [{ kind: 'give-up', reason: 'unknown-endpoint' }, ['term']],
  ])('applies %j as exactly one call', (outcome, call) => {
    const { msg, calls } = recordingMsg();
    settle(msg, outcome);
    expect(calls).toEqual([call]);
  });
});

describe('outcomeOf', () => {
  const cfg: DelivererConfig = {
    concurrency: 4,
    maxAckPending: 16,
    ackWaitMs: 30_000,
    retryMinMs: 1_000,
    retryMaxMs: 600_000,
    responseExcerptBytes: 1024,
    connectionsPerOrigin: 2,
    mode: 'in-process',
    poolThreads: 1,
    poolBatch: 8,
    poolBatchWaitMs: 0,
  };
  const NOW = Date.parse('2025-03-14T10:00:00Z');
  const http = (status: number, headers: Record<string, string> = {}): HttpResult => ({
    ok: true,
    status,
    headers,
    excerpt: `body of ${status}`,
    latencyMs: 12,
  });

  it.each([200, 201, 202, 204, 299])('maps %i to delivered', (status) => {
    expect(outcomeOf(http(status), 1, cfg, NOW)).toEqual({ kind: 'delivered', status, latencyMs: 12 });
  });

  it.each([301, 302, 304, 307, 308, 400, 401, 404, 409, 410, 413, 429, 500, 502, 503, 504, 199])(
    'maps %i to a retry carrying the status and response excerpt',
    (status) => {
      const o = outcomeOf(http(status), 1, cfg, NOW);
      expect(o).toMatchObject({
        kind: 'retry',
        reason: 'http-status',
        status,
        excerpt: `body of ${status}`,
        latencyMs: 12,
      });
      // First retry: minMs ± the default 20 % jitter.
      expect(o.kind === 'retry' && o.delayMs).toBeGreaterThanOrEqual(800);
      expect(o.kind === 'retry' && o.delayMs).toBeLessThanOrEqual(1_200);
    },
  );

  it('backs off with the attempt number', () => {
    const o = outcomeOf(http(503), 4, cfg, NOW);
    expect(o.kind === 'retry' && o.delayMs).toBeGreaterThanOrEqual(6_400);
    expect(o.kind === 'retry' && o.delayMs).toBeLessThanOrEqual(9_600);
  });

  it('honours Retry-After in seconds and as an HTTP date', () => {
    expect(outcomeOf(http(503, { 'retry-after': '30' }), 1, cfg, NOW)).toMatchObject({
      kind: 'retry',
      delayMs: 30_000,
      status: 503,
    });
    expect(
      outcomeOf(http(429, { 'retry-after': 'Fri, 14 Mar 2025 10:02:00 GMT' }), 1, cfg, NOW),
    ).toMatchObject({
      kind: 'retry',
      delayMs: 120_000,
      status: 429,
    });
    // Never beyond retryMaxMs: a hostile or broken endpoint cannot park a delivery for a year.
    expect(outcomeOf(http(503, { 'retry-after': '31536000' }), 1, cfg, NOW)).toMatchObject({
      delayMs: 600_000,
    });
  });

  it('ignores a garbage Retry-After', () => {
    const o = outcomeOf(http(503, { 'retry-after': 'abc 3000' }), 1, cfg, NOW);
    expect(o.kind === 'retry' && o.delayMs).toBeLessThanOrEqual(1_200);
  });

  it.each(['network', 'timeout'] as const)(
    'maps a %s failure to a retry with its reason and message',
    (error) => {
      const r: HttpResult = { ok: false, error, message: 'ECONNREFUSED: connect failed', latencyMs: 5 };
      const o = outcomeOf(r, 1, cfg, NOW);
      expect(o).toMatchObject({
        kind: 'retry',
        reason: error,
        error: 'ECONNREFUSED: connect failed',
        latencyMs: 5,
      });
      expect(o).not.toHaveProperty('status');
      expect(o.kind === 'retry' && o.delayMs).toBeGreaterThanOrEqual(800);
      expect(o.kind === 'retry' && o.delayMs).toBeLessThanOrEqual(1_200);
    },
  );
});
