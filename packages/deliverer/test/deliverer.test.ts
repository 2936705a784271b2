import { deliveriesStream, endpointConsumer } from '@sluice/core';
import { describe, expect, it } from 'vitest';
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

// Compressed time: retries after 50–200 ms (±20 %), redelivery of a lost ack after 1 s. In-process: the
// default pool mode has its own tests (pool.test.ts), so both modes stay covered.
const setup = (nats: TestNats, endpoints: EndpointSpec[]): Promise<Setup> =>
  setupWith(nats, endpoints, {
    mode: 'in-process',
    retrySchedule: [0, 50, 100, 200, 200],
    ackWaitMs: 1_000,
    concurrency: 8,
  });

describe('Deliverer', () => {
  it('POSTs each delivery with the event body, CloudEvents content type and verifiable Standard Webhooks headers', async () => {
    await using nats = await startNats();
    await using billing = await startReceiver();
    await using audit = await startReceiver();
    const s = await setup(nats, [
      { id: 'billing', url: `${billing.url}/hooks/billing?v=1` },
      { id: 'audit', url: audit.url },
    ]);
    await using deliverer = await startDeliverer(s);
    const sent = [
      await publishDelivery(s, 'billing', 0),
      await publishDelivery(s, 'audit', 3),
      await publishDelivery(s, 'billing', 2),
    ];
    await billing.waitFor(2);
    await audit.waitFor(1);
    await waitFor(
      async () =>
        deliverer.stats.delivered === 3 &&
        (await consumerIdle(s, 'billing')) &&
        (await consumerIdle(s, 'audit')),
      {
        message: 'all acked',
      },
    );

    for (const d of sent) {
      const hook = d.endpoint === 'billing' ? billing : audit;
      const got = hook.requests.filter((r) => r.headers['webhook-id'] === d.eventId);
      expect(got).toHaveLength(1);
      const r = got[0]!;
      expect(r.method).toBe('POST');
      expect(r.url).toBe(d.endpoint === 'billing' ? '/hooks/billing?v=1' : '/');
      expect(r.headers['content-type']).toMatch(/^application\/cloudevents\+json(;|$)/);
      expect(Buffer.from(r.body, 'utf8').equals(d.body)).toBe(true);
      expect(verify(s.secrets.get(d.endpoint)!, r)).toEqual(JSON.parse(d.body.toString('utf8')));
      // Signed with this endpoint's secret only.
      const other = s.secrets.get(d.endpoint === 'billing' ? 'audit' : 'billing')!;
      expect(() => verify(other, r)).toThrow();
    }
    expect(billing.requests).toHaveLength(2);
    expect(audit.requests).toHaveLength(1);
    expect(deliverer.stats).toMatchObject({ delivered: 3, retried: 0, deadLettered: 0 });
  });

  it('retries a 503 with the same webhook-id until the endpoint accepts, each attempt signed afresh', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver({ status: (_r, i) => (i < 2 ? 503 : 204) });
    const s = await setup(nats, [{ id: 'flaky', url: hook.url }]);
    await using deliverer = await startDeliverer(s);
    const d = await publishDelivery(s, 'flaky');
    await hook.waitFor(3);
    await waitFor(async () => deliverer.stats.delivered === 1 && (await consumerIdle(s, 'flaky')), {
      message: 'delivered after retries',
    });
    expect(hook.requests.map((r) => r.headers['webhook-id'])).toEqual([d.eventId, d.eventId, d.eventId]);
    for (const r of hook.requests) {
      expect(Buffer.from(r.body, 'utf8').equals(d.body)).toBe(true);
      expect(() => verify(s.secrets.get('flaky')!, r)).not.toThrow();
    }
    expect(deliverer.stats).toMatchObject({ delivered: 1, retried: 2, deadLettered: 0 });
  });

  it('gives up on a request that outlives the endpoint timeout and tries again', async () => {
    await using nats = await startNats();
    // The first answer would come long after the 300 ms budget (and after ack_wait); the second at once.
    await using hook = await startReceiver({ delayMs: (_r, i) => (i === 0 ? 30_000 : 0) });
    const s = await setup(nats, [{ id: 'slow', url: hook.url, timeoutMs: 300 }]);
    await using deliverer = await startDeliverer(s);
    const d = await publishDelivery(s, 'slow');
    await hook.waitFor(2);
    await waitFor(async () => deliverer.stats.delivered === 1 && (await consumerIdle(s, 'slow')), {
      message: 'delivered after a timeout',
    });
    expect(hook.requests.map((r) => r.headers['webhook-id'])).toEqual([d.eventId, d.eventId]);
    expect(deliverer.stats).toMatchObject({ delivered: 1, retried: 1, inFlight: 0 });
  });

  it('delivers eventually when the endpoint throttles with Retry-After', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver({
      status: (_r, i) => (i === 0 ? 429 : 204),
      headers: (_r, i): Record<string, string> => (i === 0 ? { 'retry-after': '1' } : {}),
    });
    const s = await setup(nats, [{ id: 'throttled', url: hook.url }]);
    await using deliverer = await startDeliverer(s);
    await publishDelivery(s, 'throttled');
    await waitFor(async () => deliverer.stats.delivered === 1 && (await consumerIdle(s, 'throttled')), {
      message: 'delivered after a 429',
    });
    expect(hook.requests.map((r) => r.headers['webhook-id'])).toHaveLength(2);
  });

  it('does not follow a redirect: a 3xx is a failed attempt', async () => {
    await using nats = await startNats();
    await using elsewhere = await startReceiver();
    await using hook = await startReceiver({ status: 302, headers: { location: `${elsewhere.url}/stolen` } });
    const s = await setup(nats, [{ id: 'moved', url: hook.url }]);
    await using deliverer = await startDeliverer(s);
    const d = await publishDelivery(s, 'moved');
    await hook.waitFor(3);
    await waitFor(() => deliverer.stats.retried >= 3, { message: 'three failed attempts' });
    expect(elsewhere.requests).toEqual([]);
    expect(deliverer.stats.delivered).toBe(0);
    expect(new Set(hook.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([d.eventId]));
  });

  it('keeps a request slower than ack_wait to one attempt: no redelivery while it is in flight', async () => {
    await using nats = await startNats();
    // 2.5 s is well inside the endpoint's 10 s budget but longer than the 1 s ack_wait.
    await using hook = await startReceiver({ delayMs: 2_500 });
    const s = await setup(nats, [{ id: 'patient', url: hook.url, timeoutMs: 10_000 }]);
    await using deliverer = await startDeliverer(s);
    const d = await publishDelivery(s, 'patient');
    await waitFor(async () => deliverer.stats.delivered === 1 && (await consumerIdle(s, 'patient')), {
      message: 'delivered once',
    });
    expect(hook.requests.map((r) => r.headers['webhook-id'])).toEqual([d.eventId]);
    const info = await s.jsm.consumers.info(deliveriesStream(s.config.nats), endpointConsumer('patient'));
    expect(info.num_redelivered).toBe(0);
    expect(deliverer.stats).toMatchObject({ delivered: 1, retried: 0, inFlight: 0 });
  });

  it('stop() waits for requests in flight and settles them', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver({ delayMs: 1_500 });
    const s = await setup(nats, [{ id: 'slowish', url: hook.url, timeoutMs: 10_000 }]);
    const deliverer = newDeliverer(s);
    await deliverer.start();
    await publishDelivery(s, 'slowish');
    await publishDelivery(s, 'slowish');
    await hook.waitFor(2);
    expect(deliverer.stats.inFlight).toBe(2);
    await deliverer.stop();
    expect(deliverer.stats).toMatchObject({ inFlight: 0, delivered: 2, retried: 0 });
    await waitFor(() => consumerIdle(s, 'slowish'), { message: 'both acked after stop' });
  });
});
