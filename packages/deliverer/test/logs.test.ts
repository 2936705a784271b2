import { createLogger, retrySubject } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { startNats, startReceiver, waitFor } from '@sluice/test-harness';
import { newDeliverer, publishDeliveries, setup } from './fixture.js';

/**
 * The keys that appear more than once in one object of a JSON text. `JSON.parse` keeps the last
 * value silently; strict log pipelines reject the line. A string followed by `:` is a key.
 */
function repeatedKeys(json: string): string[] {
  const objects: Set<string>[] = [];
  const repeated: string[] = [];
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '{') objects.push(new Set());
    else if (c === '}') objects.pop();
    else if (c === '"') {
      let end = i + 1;
      while (json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      const text = json.slice(i, end + 1);
      i = end;
      if (/^\s*:/.test(json.slice(end + 1, end + 16))) {
        const key = JSON.parse(text) as string;
        const keys = objects.at(-1)!;
        if (keys.has(key)) repeated.push(key);
        keys.add(key);
      }
    }
  }
  return repeated;
}

describe('deliverer logs', () => {
  it('finds a repeated key, and no line a deliverer writes has one', async () => {
    expect(repeatedKeys('{"component":"a","x":{"component":"b"},"msg":"m"}')).toEqual([]);
    expect(repeatedKeys('{"component":"a","s":"\\"component\\":","component":"b"}')).toEqual(['component']);

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

    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.find((l) => String(l.msg).startsWith('retry without'))).toMatchObject({
      component: 'retry-scheduler',
    });
    expect(parsed.find((l) => l.msg === 'delivery attempt')).toMatchObject({
      component: 'deliverer',
      endpointId: 'noisy',
    });
    for (const line of lines) expect(repeatedKeys(line), line).toEqual([]);
  });
});
