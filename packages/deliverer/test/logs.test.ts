import { createLogger, retrySubject } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { startNats, startReceiver, strictLogLines, waitFor } from '@sluice/test-harness';
import { newDeliverer, publishDeliveries, setup } from './fixture.js';

describe('deliverer logs', () => {
  it('no line a deliverer writes has a repeated key', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver({ status: (_r, i) => (i < 3 ? 503 : 204) });
    const s = await setup(nats, [{ id: 'noisy', url: hook.url, maxInFlight: 1 }], {
      mode: 'in-process',
      retryJitter: 0,
      retrySchedule: [0, 20, 20, 20],
      breakerConsecutiveFailures: 3,
      breakerOpenMs: 50,
      breakerMaxOpenMs: 50,
    });
    const lines: string[] = [];
    const logger = createLogger(
      { level: 'debug', pretty: false },
      { write: (line: string) => void lines.push(...line.split('\n').filter(Boolean)) },
    );
    const deliverer = newDeliverer(s, { logger });
    await deliverer.start();
    try {
      await publishDeliveries(s, 'noisy', 3);
      // Not written by a deliverer: the retry scheduler drops it with an error line of its own.
      await s.publisher.publish(retrySubject(s.config.nats, 'noisy', 0), new Uint8Array(), 'stray', {});
      const has = (msg: string): boolean => lines.some((l) => l.includes(`"msg":"${msg}`));
      await waitFor(() => hook.requests.filter((r) => r.status === 204).length === 3, {
        message: 'every delivery answered 2xx',
      });
      await waitFor(
        () =>
          has('retry without delivery headers') &&
          has('circuit breaker opened') &&
          has('circuit breaker closed'),
        { message: 'the scheduler and the breaker logged' },
      );
    } finally {
      await deliverer.stop();
    }

    // Strict JSON: a line with a repeated key throws, naming the key.
    const parsed = strictLogLines(lines.join('\n'));
    expect(parsed).toHaveLength(lines.length);
    expect(parsed.find((l) => String(l.msg).startsWith('retry without'))).toMatchObject({
      component: 'retry-scheduler',
    });
    expect(parsed.find((l) => l.msg === 'delivery attempt')).toMatchObject({
      component: 'deliverer',
      endpointId: 'noisy',
    });
  });
});
