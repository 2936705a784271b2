import { deliveriesStream, endpointConsumer } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import type { Deliverer } from '../src/index.js';
import { startNats, startReceiver, waitFor, type TestNats } from '@sluice/test-harness';
import {
  consumerIdle,
  newDeliverer,
  publishDelivery,
  setup as setupWith,
  startDeliverer,
  verify,
  type EndpointSpec,
  type Setup,
} from './fixture.js';

// The deliverer in `mode: pool`: POSTs signed and sent by Piscina worker threads, in batches. The
// workers load the built dist/delivery-worker.js, so these tests run after `turbo run build`.

const POOL_BATCH = 4;

const setup = (nats: TestNats, endpoints: EndpointSpec[]): Promise<Setup> =>
  setupWith(nats, endpoints, {
    mode: 'pool',
    poolThreads: 2,
    poolBatch: POOL_BATCH,
    // Long enough that a burst pulled in one fetch goes out in full batches.
    poolBatchWaitMs: 100,
    retrySchedule: [0, 50, 100, 200, 200],
    ackWaitMs: 1_000,
    // Above every test's delivery count: all are in flight at once, none waits for a slot.
    concurrency: 32,
  });

describe('Deliverer in pool mode', () => {
  it('delivers every delivery once, signed per endpoint, in batches of at most poolBatch', async () => {
    await using nats = await startNats();
    await using billing = await startReceiver();
    await using audit = await startReceiver();
    const s = await setup(nats, [
      { id: 'billing', url: `${billing.url}/hooks?v=1` },
      { id: 'audit', url: audit.url },
    ]);
    // Published before the deliverer starts, so that its first fetches arrive as bursts to batch.
    const sent = new Map<string, { endpoint: string; body: Buffer }>();
    for (let n = 0; n < 30; n++) {
      const endpoint = n % 3 === 0 ? 'audit' : 'billing';
      const d = await publishDelivery(s, endpoint, n);
      sent.set(d.eventId, { endpoint, body: d.body });
    }
    await using deliverer = await startDeliverer(s);
    await waitFor(
      async () =>
        deliverer.stats.delivered === 30 &&
        (await consumerIdle(s, 'billing')) &&
        (await consumerIdle(s, 'audit')),
      {
        message: 'all 30 delivered and acked',
      },
    );

    const all = [...billing.requests, ...audit.requests];
    expect(all).toHaveLength(30);
    expect(new Set(all.map((r) => r.headers['webhook-id']))).toEqual(new Set(sent.keys()));
    for (const r of all) {
      const d = sent.get(String(r.headers['webhook-id']))!;
      expect((d.endpoint === 'billing' ? billing : audit).requests).toContain(r);
      expect(r.url).toBe(d.endpoint === 'billing' ? '/hooks?v=1' : '/');
      expect(r.headers['content-type']).toMatch(/^application\/cloudevents\+json(;|$)/);
      expect(Buffer.from(r.body, 'utf8').equals(d.body)).toBe(true);
      expect(verify(s.secrets.get(d.endpoint)!, r)).toEqual(JSON.parse(d.body.toString('utf8')));
      const other = s.secrets.get(d.endpoint === 'billing' ? 'audit' : 'billing')!;
      expect(() => verify(other, r)).toThrow();
    }
    // Through the pool, batched: never more than poolBatch per task, and fewer tasks than deliveries.
    expect(deliverer.stats.batches).toBeGreaterThanOrEqual(30 / POOL_BATCH);
    expect(deliverer.stats.batches).toBeLessThan(30);
    expect(deliverer.stats).toMatchObject({ delivered: 30, retried: 0, deadLettered: 0, inFlight: 0 });
  });

  it('retries a 503 with the same webhook-id until the endpoint accepts, each attempt signed afresh', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver({ status: (_r, i) => (i < 2 ? 503 : 204) });
    const s = await setup(nats, [{ id: 'flaky', url: hook.url }]);
    await using deliverer = await startDeliverer(s);
    const d = await publishDelivery(s, 'flaky');
    await waitFor(async () => deliverer.stats.delivered === 1 && (await consumerIdle(s, 'flaky')), {
      message: 'delivered after retries',
    });
    expect(hook.requests.map((r) => r.headers['webhook-id'])).toEqual([d.eventId, d.eventId, d.eventId]);
    for (const r of hook.requests) {
      expect(Buffer.from(r.body, 'utf8').equals(d.body)).toBe(true);
      expect(() => verify(s.secrets.get('flaky')!, r)).not.toThrow();
    }
    expect(deliverer.stats).toMatchObject({ delivered: 1, retried: 2, deadLettered: 0 });
    expect(deliverer.stats.batches).toBe(3);
  });

  it('keeps a request slower than ack_wait to one attempt: the main thread reports progress meanwhile', async () => {
    await using nats = await startNats();
    // 2.5 s is inside the endpoint's default 10 s budget but longer than the 1 s ack_wait.
    await using hook = await startReceiver({ delayMs: 2_500 });
    const s = await setup(nats, [{ id: 'patient', url: hook.url }]);
    await using deliverer = await startDeliverer(s);
    const d = await publishDelivery(s, 'patient');
    await waitFor(async () => deliverer.stats.delivered === 1 && (await consumerIdle(s, 'patient')), {
      message: 'delivered once',
    });
    expect(hook.requests.map((r) => r.headers['webhook-id'])).toEqual([d.eventId]);
    const info = await s.jsm.consumers.info(deliveriesStream(s.config.nats), endpointConsumer('patient'));
    expect(info.num_redelivered).toBe(0);
  });

  it("does not hold a fast endpoint's deliveries behind a slow endpoint's: batches are per endpoint", async () => {
    await using nats = await startNats();
    await using fast = await startReceiver();
    // Answers after a minute, well past the wait below: a batch shared with it would settle only then.
    const slow = await startReceiver({ delayMs: 60_000 });
    let deliverer: Deliverer | undefined;
    try {
      const s = await setup(nats, [
        { id: 'fast', url: fast.url },
        // Its budget outlasts the wait below, so that only per-endpoint batches can let the fast ones through.
        { id: 'slow', url: slow.url, timeoutMs: 60_000 },
      ]);
      // Interleaved in one burst, so that a batcher blind to endpoints would mix them in one task.
      for (let n = 0; n < 6; n++) await publishDelivery(s, n % 2 === 0 ? 'slow' : 'fast', n);
      const d = (deliverer = await startDeliverer(s));
      await slow.waitFor(3);
      await waitFor(() => d.stats.delivered === 3, { message: 'the fast endpoint settled' });
      expect(fast.requests).toHaveLength(3);
      expect(d.stats.inFlight).toBe(3);
    } finally {
      // The slow answers end first (the deliverer sees a network error), so that stop() need not wait.
      await slow[Symbol.asyncDispose]();
      await deliverer?.stop();
    }
  });

  it('stop() waits for the batches in flight and settles them', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver({ delayMs: 1_500 });
    const s = await setup(nats, [{ id: 'slowish', url: hook.url }]);
    const deliverer = newDeliverer(s);
    await deliverer.start();
    for (let n = 0; n < 6; n++) await publishDelivery(s, 'slowish', n);
    await hook.waitFor(6);
    expect(deliverer.stats.inFlight).toBe(6);
    await deliverer.stop();
    expect(deliverer.stats).toMatchObject({ inFlight: 0, delivered: 6, retried: 0 });
    await waitFor(() => consumerIdle(s, 'slowish'), { message: 'all six acked after stop' });
  });
});
