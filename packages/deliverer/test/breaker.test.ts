import { describe, expect, it } from 'vitest';
import { startNats, startReceiver, waitFor, type RecordedRequest } from '@sluice/test-harness';
import { endpointHealth, newDeliverer, publishDeliveries, setup, startDeliverer } from './fixture.js';

const HISTORY = 300;
const CONSECUTIVE = 5;

const is2xx = (r: RecordedRequest): boolean => r.status !== undefined && r.status >= 200 && r.status < 300;

// An endpoint with a long healthy history that goes down: the failure ratio of its window would need
// about as many failures as the window holds successes; the run of failures opens the breaker first.
// See docs/decisions/0007-delivery-engine.md.
describe('circuit breaker on an outage', () => {
  it.each(['in-process', 'pool'] as const)(
    'opens within breakerConsecutiveFailures attempts of a healthy endpoint turning to 503 (%s), and other processes follow',
    async (mode) => {
      await using nats = await startNats();
      let down = false;
      await using hook = await startReceiver({ status: () => (down ? 503 : 204) });
      // One in flight at a time: each result is taken in before the next request may leave, so the
      // count of failed requests is exactly what the breaker saw.
      const s = await setup(nats, [{ id: 'outage', url: hook.url, maxInFlight: 1 }], {
        mode,
        ackWaitMs: 2_000,
        // The window holds the whole history; the ratio trigger alone would open only after ~300 failures.
        breakerWindowMs: 3_600_000,
        breakerConsecutiveFailures: CONSECUTIVE,
        // Long enough that no probe goes out while the test looks.
        breakerOpenMs: 600_000,
        breakerMaxOpenMs: 600_000,
        retrySchedule: [0, 600_000],
      });
      await using deliverer = await startDeliverer(s);
      await publishDeliveries(s, 'outage', HISTORY);
      await hook.waitFor((rs) => rs.filter(is2xx).length === HISTORY, { timeoutMs: 20_000 });
      expect(deliverer.breakers().outage).toBe('closed');

      down = true;
      await publishDeliveries(s, 'outage', 50, HISTORY);
      await waitFor(() => deliverer.breakers().outage === 'open', { message: 'breaker opened' });
      const failed = (): number => hook.requests.length - HISTORY;
      expect(failed()).toBe(CONSECUTIVE);
      expect(hook.requests.slice(HISTORY).every((r) => r.status === 503)).toBe(true);

      // Shared through the endpoints KV bucket: a second process starts with the breaker open and
      // sends nothing.
      await waitFor(async () => (await endpointHealth(s, 'outage')).openUntilMs !== undefined, {
        message: 'open breaker in the shared record',
      });
      const second = newDeliverer(s);
      await second.start();
      try {
        await waitFor(() => second.breakers().outage === 'open', { message: 'second process follows' });
      } finally {
        await second.stop();
      }
      expect(failed()).toBe(CONSECUTIVE);
    },
  );
});
