import { dlqStream, deliveriesStream, retriesStream } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { startNats, startReceiver, waitFor, type RecordedRequest, type TestNats } from '@sluice/test-harness';
import { OperationalEventTypes } from '../src/operational-events.js';
import {
  attemptRecords,
  attemptsOf,
  consumerIdle,
  deadLetters,
  enableEndpoint,
  endpointConsumerInfo,
  endpointHealth,
  operationalEvents,
  publishDeliveries,
  publishDelivery,
  redriveDeadLetters,
  retriesIdle,
  setup as setupWith,
  startDeliverer,
  streamCount,
  verify,
  type EndpointSpec,
  type Setup,
} from './fixture.js';

// The delivery engine against real nats-server and HTTP receivers, in compressed time: retries after
// tens of ms, breakers open for 100-200 ms, endpoints disabled after 1.5 s of failure. Jitter is 0 so
// that the schedule can be checked exactly — as lower bounds only, never as upper ones.
// See docs/decisions/0007-delivery-engine.md.
const BASE = {
  mode: 'in-process',
  retryJitter: 0,
  ackWaitMs: 2_000,
  concurrency: 64,
  breakerWindowMs: 1_000,
  breakerFailureRatio: 0.5,
  breakerMinRequests: 3,
  breakerOpenMs: 100,
  breakerMaxOpenMs: 200,
};

const setup = (
  nats: TestNats,
  endpoints: EndpointSpec[],
  deliverer: Record<string, unknown>,
): Promise<Setup> => setupWith(nats, endpoints, { ...BASE, ...deliverer });

const is2xx = (r: RecordedRequest): boolean => r.status !== undefined && r.status >= 200 && r.status < 300;
const idOf = (r: RecordedRequest): string => String(r.headers['webhook-id']);

/** Requests per webhook-id, in arrival order. */
function byEvent(requests: readonly RecordedRequest[]): Map<string, RecordedRequest[]> {
  const m = new Map<string, RecordedRequest[]>();
  for (const r of requests) m.set(idOf(r), [...(m.get(idOf(r)) ?? []), r]);
  return m;
}

describe('delivery engine', () => {
  it('retries a failing endpoint on schedule through the retries stream, within maxInFlight, and delivers each event once', async () => {
    const N = 50;
    const FAILURES = 100;
    const schedule = [0, 50, 100, 150, 200, 200, 200, 200];
    await using nats = await startNats();
    let answered = 0;
    await using hook = await startReceiver({ status: () => (answered++ < FAILURES ? 500 : 200) });
    const s = await setup(nats, [{ id: 'flaky', url: hook.url, maxInFlight: 4 }], {
      retrySchedule: schedule,
      // This test is about the schedule: keep the breaker out of the way.
      breakerMinRequests: 10_000,
      breakerConsecutiveFailures: 0,
    });
    await using deliverer = await startDeliverer(s);
    const sent = await publishDeliveries(s, 'flaky', N);

    // Sample the endpoint's consumer all along, and especially while the endpoint is down.
    let maxAckPending = 0;
    let downSamples = 0;
    await waitFor(
      async () => {
        const down = answered < FAILURES;
        const info = await endpointConsumerInfo(s, 'flaky');
        maxAckPending = Math.max(maxAckPending, info.num_ack_pending);
        if (down) downSamples++;
        return new Set(hook.requests.filter(is2xx).map(idOf)).size === N;
      },
      { timeoutMs: 15_000, intervalMs: 5, message: 'every event answered 2xx' },
    );
    await waitFor(async () => (await consumerIdle(s, 'flaky')) && (await retriesIdle(s)), {
      message: 'everything settled',
    });
    const requests = hook.requests.length;
    const attemptsStored = async (): Promise<boolean> =>
      (await attemptRecords(s, 'flaky')).length === requests;
    await waitFor(attemptsStored, { message: 'one attempt record per request' });

    expect(downSamples).toBeGreaterThan(0);
    expect(maxAckPending).toBeLessThanOrEqual(4);
    expect(requests).toBe(N + FAILURES);

    const records = await attemptRecords(s, 'flaky');
    const perEvent = byEvent(hook.requests);
    for (const d of sent) {
      const got = perEvent.get(d.eventId) ?? [];
      // Same webhook-id on every attempt, exactly one 2xx and it is the last one.
      expect(got.filter(is2xx)).toHaveLength(1);
      expect(got.map((r) => r.status)).toEqual([...got.slice(0, -1).map(() => 500), 200]);
      expect(verify(s.secrets.get('flaky')!, got.at(-1)!)).toEqual(JSON.parse(d.body.toString('utf8')));

      const attempts = attemptsOf(records, d.eventId);
      expect(attempts.map((a) => a.attempt)).toEqual(got.map((_r, i) => i + 1));
      expect(attempts.map((a) => a.outcome)).toEqual([...got.slice(0, -1).map(() => 'retry'), 'delivered']);
      for (let i = 1; i < attempts.length; i++) {
        // Attempt n + 1 starts no earlier than schedule[n] after attempt n started (jitter 0).
        expect(attempts[i]!.at - attempts[i - 1]!.at).toBeGreaterThanOrEqual(schedule[i]!);
      }
    }

    // Every failed attempt waited as a message of the retries stream and came back as a new delivery;
    // none was held (nak'ed) on the endpoint's consumer.
    expect(await streamCount(s, retriesStream(s.config.nats))).toBe(FAILURES);
    expect(await streamCount(s, deliveriesStream(s.config.nats))).toBe(N + FAILURES);
    expect((await endpointConsumerInfo(s, 'flaky')).num_redelivered).toBe(0);
    expect(deliverer.stats).toMatchObject({ delivered: N, retried: FAILURES, deadLettered: 0 });
  });

  it('ends a request that never answers, or trickles its body for ever, as a timeout and opens the breaker', async () => {
    await using nats = await startNats();
    await using hang = await startReceiver({ mode: 'hang' });
    // Headers and a 200 at once, then a byte every 100 ms: never idle long enough for a body
    // (idle) timeout of 400 ms, so only the whole-request budget can end it.
    await using trickle = await startReceiver({ mode: 'trickle', status: 200, trickleMs: 100 });
    const s = await setup(
      nats,
      [
        { id: 'hang', url: hang.url, timeoutMs: 300, maxInFlight: 2 },
        { id: 'trickle', url: trickle.url, timeoutMs: 400, maxInFlight: 2 },
      ],
      { retrySchedule: [0, 50, 100, 100, 100, 100, 100, 100], breakerMinRequests: 2 },
    );
    await using deliverer = await startDeliverer(s);
    await publishDeliveries(s, 'hang', 4);
    await publishDeliveries(s, 'trickle', 4);

    for (const id of ['hang', 'trickle']) {
      await waitFor(async () => (await endpointHealth(s, id)).openUntilMs !== undefined, {
        message: `${id}: breaker opened (shared record)`,
      });
      await waitFor(() => deliverer.breakers()[id] === 'open', {
        intervalMs: 5,
        message: `${id}: breaker open in this process`,
      });
      await waitFor(async () => (await attemptRecords(s, id)).length >= 2, {
        message: `${id}: attempts recorded`,
      });
      const records = await attemptRecords(s, id);
      for (const r of records) {
        expect(r.error).toBe('timeout');
        expect(r.status).toBeUndefined();
        expect(['retry', 'dead-letter']).toContain(r.outcome);
      }
    }
    // The trickling endpoint did answer 200 with headers; the attempt still counts as a timeout.
    expect(trickle.requests.every((r) => r.status === 200)).toBe(true);
    expect(hang.requests.every((r) => r.status === undefined)).toBe(true);
    expect(deliverer.stats.delivered).toBe(0);
  });

  it('disables an endpoint that keeps failing, announces it, and loses nothing: enable and redrive deliver every event', async () => {
    const disableAfterMs = 1_500;
    await using nats = await startNats();
    let fixed = false;
    await using hook = await startReceiver({ status: () => (fixed ? 200 : 500) });
    // Another endpoint of the same deliverer: its slow retries show the engine kept working meanwhile.
    await using witness = await startReceiver({ status: (_r, i) => (i < 3 ? 500 : 204) });
    const s = await setup(
      nats,
      [
        { id: 'dead', url: hook.url, maxInFlight: 4 },
        { id: 'witness', url: witness.url, retrySchedule: [0, 200, 200, 200] },
      ],
      {
        retrySchedule: [0, 30, 60],
        disableAfterMs,
        // Twelve failures open the breaker: the first four deliveries (3 attempts each) are spent and
        // dead-lettered at full speed; afterwards the breaker's probes pace the remaining attempts, so
        // failures go on long enough to reach disableAfterMs.
        breakerMinRequests: 12,
        breakerFailureRatio: 1,
        breakerConsecutiveFailures: 0,
      },
    );
    await using deliverer = await startDeliverer(s);
    const first = await publishDeliveries(s, 'dead', 4);
    await waitFor(async () => (await deadLetters(s, 'dead')).length === 4, {
      message: 'the first four dead-lettered',
    });
    const rest = await publishDeliveries(s, 'dead', 16, 4);
    const sent = [...first, ...rest];

    await waitFor(async () => (await endpointHealth(s, 'dead')).disabled, {
      timeoutMs: 15_000,
      message: 'endpoint disabled',
    });
    const health = await endpointHealth(s, 'dead');
    expect(health).toMatchObject({ disabled: true, disabledReason: 'failing' });
    expect(health.disabledAtMs! - health.failingSinceMs!).toBeGreaterThanOrEqual(disableAfterMs);
    // Disabled means parked: while the witness goes through three retries, nothing more is attempted.
    await publishDelivery(s, 'witness');
    await waitFor(() => witness.requests.some(is2xx), {
      message: 'the witness delivered after three retries',
    });
    const late = (await attemptRecords(s, 'dead')).filter((r) => r.at > health.disabledAtMs!);
    expect(late).toEqual([]);

    // Nothing lost: once nothing is in flight or waiting to be retried, every delivery is either a
    // dead letter or still unconsumed on the endpoint's consumer, parked.
    const ns = s.config.nats;
    await waitFor(
      async () => {
        const info = await endpointConsumerInfo(s, 'dead');
        const dlq = await streamCount(s, dlqStream(ns));
        return (
          deliverer.stats.inFlight === 0 &&
          (await retriesIdle(s)) &&
          info.num_ack_pending === 0 &&
          dlq + info.num_pending === sent.length
        );
      },
      { message: 'every delivery dead-lettered or parked' },
    );
    const letters = await deadLetters(s, 'dead');
    expect(letters.length).toBeGreaterThanOrEqual(4);
    expect(new Set(letters.map((d) => d.eventId)).size).toBe(letters.length);
    for (const d of letters) expect(d).toMatchObject({ reason: 'exhausted', attempt: '3', status: '500' });
    const sentIds = new Set(sent.map((d) => d.eventId));
    expect(letters.every((d) => sentIds.has(d.eventId))).toBe(true);

    await waitFor(
      async () =>
        (await operationalEvents(s, 'dead', OperationalEventTypes.deliveryExhausted)).length ===
        letters.length,
      { message: 'one sluice.delivery.exhausted per dead letter' },
    );
    const exhausted = await operationalEvents(s, 'dead', OperationalEventTypes.deliveryExhausted);
    expect(new Set(exhausted.map((e) => e.data?.eventId))).toEqual(new Set(letters.map((d) => d.eventId)));
    const disabled = await operationalEvents(s, 'dead', OperationalEventTypes.endpointDisabled);
    expect(disabled).toHaveLength(1);
    expect(disabled[0]).toMatchObject({
      type: 'sluice.endpoint.disabled',
      source: '/sluice/deliverer',
      subject: 'dead',
      data: { endpointId: 'dead', reason: 'failing' },
    });
    const before = hook.requests.length;

    // The endpoint is fixed, enabled again (as `sluice endpoints enable` does) and the DLQ redriven.
    fixed = true;
    await enableEndpoint(s, 'dead');
    expect(await redriveDeadLetters(s, 'dead')).toBe(letters.length);
    await waitFor(() => new Set(hook.requests.filter(is2xx).map(idOf)).size === sent.length, {
      message: 'every event answered 2xx',
    });
    await waitFor(async () => (await consumerIdle(s, 'dead')) && (await retriesIdle(s)), {
      message: 'everything settled',
    });
    const delivered = hook.requests.slice(before);
    expect(delivered.every(is2xx)).toBe(true);
    expect(delivered.map(idOf).sort()).toEqual([...sentIds].sort());
    expect(await streamCount(s, dlqStream(ns))).toBe(0);
    expect(await endpointHealth(s, 'dead')).toMatchObject({ disabled: false });
  });

  it('disables an endpoint that answers 410 Gone and sends it nothing more', async () => {
    await using nats = await startNats();
    await using gone = await startReceiver({ status: 410 });
    // A second endpoint of the same deliverer, whose retries show the engine kept working meanwhile.
    await using witness = await startReceiver({ status: (_r, i) => (i < 2 ? 500 : 204) });
    const s = await setup(
      nats,
      [
        { id: 'gone', url: gone.url, maxInFlight: 4 },
        { id: 'witness', url: witness.url },
      ],
      { retrySchedule: [0, 50, 100, 200] },
    );
    await using _deliverer = await startDeliverer(s);
    const first = await publishDeliveries(s, 'gone', 1);
    await waitFor(async () => (await endpointHealth(s, 'gone')).disabled, { message: 'endpoint disabled' });
    expect(await endpointHealth(s, 'gone')).toMatchObject({ disabled: true, disabledReason: 'gone' });
    // The 410'd delivery holds one of the four slots; three are free for these, were it not disabled.
    const later = await publishDeliveries(s, 'gone', 5, 1);
    await publishDelivery(s, 'witness');
    await waitFor(() => witness.requests.some(is2xx), { message: 'the witness delivered after two retries' });

    expect(gone.requests).toHaveLength(1);
    expect(idOf(gone.requests[0]!)).toBe(first[0]!.eventId);
    const records = await attemptRecords(s, 'gone');
    expect(records).toEqual([expect.objectContaining({ outcome: 'gone', status: 410, attempt: 1 })]);
    const disabled = await operationalEvents(s, 'gone', OperationalEventTypes.endpointDisabled);
    expect(disabled.map((e) => e.data)).toEqual([
      expect.objectContaining({ endpointId: 'gone', reason: 'gone' }),
    ]);
    // Nothing was dead-lettered or dropped: the deliveries wait on the endpoint's consumer.
    expect(await deadLetters(s, 'gone')).toEqual([]);
    const info = await endpointConsumerInfo(s, 'gone');
    expect(info.num_pending + info.num_ack_pending).toBe(first.length + later.length);
  });

  it('waits for Retry-After after a 429 before the next attempt, then delivers everything', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver({
      status: (_r, i) => (i === 0 ? 429 : 204),
      headers: (_r, i): Record<string, string> => (i === 0 ? { 'retry-after': '1' } : {}),
    });
    const s = await setup(nats, [{ id: 'busy', url: hook.url, maxInFlight: 1 }], {
      retrySchedule: [0, 50, 100],
    });
    await using deliverer = await startDeliverer(s);
    const sent = await publishDeliveries(s, 'busy', 5);
    await waitFor(() => new Set(hook.requests.filter(is2xx).map(idOf)).size === sent.length, {
      message: 'every event answered 2xx',
    });
    await waitFor(() => consumerIdle(s, 'busy'), { message: 'everything acked' });

    const [throttled, ...after] = hook.requests;
    expect(throttled!.status).toBe(429);
    expect(after).toHaveLength(sent.length);
    // Lower bound only: the endpoint asked for a second and got at least that.
    for (const r of after) expect(r.receivedAt - throttled!.receivedAt).toBeGreaterThanOrEqual(1_000);
    await waitFor(async () => (await attemptRecords(s, 'busy')).length === hook.requests.length, {
      message: 'attempts recorded',
    });
    const [first, second] = attemptsOf(await attemptRecords(s, 'busy'), idOf(throttled!));
    expect(first).toMatchObject({ attempt: 1, outcome: 'retry', status: 429 });
    expect(second).toMatchObject({ attempt: 2, outcome: 'delivered' });
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_000);
    expect(deliverer.stats).toMatchObject({ delivered: sent.length, retried: 1, deadLettered: 0 });
  });

  it('never follows a redirect: the Location gets nothing and the delivery is dead-lettered as a failure', async () => {
    await using nats = await startNats();
    await using elsewhere = await startReceiver();
    await using hook = await startReceiver({ status: 302, headers: { location: `${elsewhere.url}/stolen` } });
    const s = await setup(nats, [{ id: 'moved', url: hook.url }], { retrySchedule: [0, 30, 60] });
    await using _deliverer = await startDeliverer(s);
    const d = await publishDelivery(s, 'moved');
    await waitFor(async () => (await deadLetters(s, 'moved')).length === 1, {
      message: 'dead-lettered after every attempt',
    });
    expect(await deadLetters(s, 'moved')).toEqual([
      expect.objectContaining({ eventId: d.eventId, reason: 'exhausted', attempt: '3', status: '302' }),
    ]);
    expect(hook.requests.map(idOf)).toEqual([d.eventId, d.eventId, d.eventId]);
    expect(elsewhere.requests).toEqual([]);
  });

  it('dead-letters a non-retryable status after exactly one attempt', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver({ status: 422 });
    const s = await setup(nats, [{ id: 'strict', url: hook.url }], { retrySchedule: [0, 30, 60] });
    await using deliverer = await startDeliverer(s);
    const sent = await publishDeliveries(s, 'strict', 3);
    await waitFor(async () => (await deadLetters(s, 'strict')).length === sent.length, {
      message: 'all dead-lettered',
    });
    await waitFor(async () => (await consumerIdle(s, 'strict')) && (await retriesIdle(s)), {
      message: 'everything settled',
    });

    const letters = await deadLetters(s, 'strict');
    expect(letters.map((d) => d.eventId).sort()).toEqual(sent.map((d) => d.eventId).sort());
    for (const d of letters)
      expect(d).toMatchObject({ reason: 'non-retryable-status', status: '422', attempt: '1' });
    expect(hook.requests.map(idOf).sort()).toEqual(sent.map((d) => d.eventId).sort());
    // Settled and nothing waiting to be retried: no further attempt can come.
    expect(await streamCount(s, retriesStream(s.config.nats))).toBe(0);
    await waitFor(async () => (await attemptRecords(s, 'strict')).length === sent.length, {
      message: 'attempts recorded',
    });
    for (const r of await attemptRecords(s, 'strict'))
      expect(r).toMatchObject({ attempt: 1, outcome: 'dead-letter', status: 422 });
    expect(await operationalEvents(s, 'strict', OperationalEventTypes.deliveryExhausted)).toEqual([]);
    expect(deliverer.stats).toMatchObject({ delivered: 0, retried: 0, deadLettered: sent.length });
  });

  it('drains a 10,000-delivery backlog after a recovery without ever exceeding maxInFlight', async () => {
    const N = 10_000;
    const maxInFlight = 8;
    await using nats = await startNats();
    let up = false;
    const answered = new Set<string>();
    let duplicates = 0;
    await using hook = await startReceiver({
      status: (r) => {
        if (!up) return 503;
        if (answered.has(idOf(r))) duplicates++;
        answered.add(idOf(r));
        return 204;
      },
      // Answers take a moment once up, so that requests overlap and any excess would be seen.
      delayMs: () => (up ? 2 : 0),
    });
    const s = await setup(nats, [{ id: 'herd', url: hook.url, maxInFlight }], {
      retrySchedule: [0, 100, 100, 100, 100, 100, 100, 100, 100, 100],
      breakerMinRequests: 2,
    });
    await using deliverer = await startDeliverer(s);
    const openers = await publishDeliveries(s, 'herd', 2);
    await waitFor(async () => (await endpointHealth(s, 'herd')).openUntilMs !== undefined, {
      message: 'breaker opened',
    });
    const backlog = await publishDeliveries(s, 'herd', N, 2);
    up = true;

    await waitFor(() => answered.size === N + openers.length, {
      timeoutMs: 30_000,
      message: 'every event answered 2xx',
    });
    await waitFor(async () => (await consumerIdle(s, 'herd')) && (await retriesIdle(s)), {
      message: 'everything settled',
    });
    expect(hook.maxInFlight).toBeLessThanOrEqual(maxInFlight);
    expect(duplicates).toBe(0);
    const expected = new Set([...openers, ...backlog].map((d) => d.eventId));
    expect(answered).toEqual(expected);
    expect(deliverer.stats.deadLettered).toBe(0);
  });

  it('follows an enable written by a machine whose clock is behind', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver({ status: (_r, i) => (i === 0 ? 410 : 204) });
    const s = await setup(nats, [{ id: 'back', url: hook.url, maxInFlight: 4 }], {
      retrySchedule: [0, 50, 100],
    });
    await using _deliverer = await startDeliverer(s);
    await publishDelivery(s, 'back');
    await waitFor(async () => (await endpointHealth(s, 'back')).disabled, { message: 'endpoint disabled' });

    // `sluice endpoints enable` run on a host one minute behind: its record is the newest in the
    // bucket though its timestamp is older than the one it replaces.
    await enableEndpoint(s, 'back', Date.now() - 60_000);
    const d = await publishDelivery(s, 'back', 1);
    await waitFor(() => hook.requests.some((r) => idOf(r) === d.eventId && is2xx(r)), {
      message: 'delivered once enabled',
    });
  });
});
