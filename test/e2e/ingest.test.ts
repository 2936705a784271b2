import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';
import { describe, expect, test } from 'vitest';
import { spawnSluice, startNats, startReceiver, uniqueName } from '@sluice/test-harness';

// HTTP ingest end to end through the real binary: `sluice keys create` makes a key, `sluice up` runs
// the API with router and deliverer, a POST /v1/events arrives at a receiver signed, and verifies.

describe('sluice up: POST /v1/events → signed webhook', () => {
  test('an event sent with an ingest key is delivered with a valid signature and its id', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver();
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const config = {
      nats: { url: nats.url, prefix: uniqueName('p') },
      api: { port: 0 },
      endpoints: [{ id: 'hook', url: hook.url, secret }],
      subscriptions: [{ id: 'orders', endpoint: 'hook', types: ['shop.order.*'] }],
      deliverer: { allowNetworks: ['127.0.0.0/8', '::1/128'] },
    };

    await using create = await spawnSluice(['keys', 'create', '--scope', 'ingest', '--name', 'e2e'], {
      config,
    });
    expect(await create.exited, create.stderr()).toBe(0);
    const key = create.stdout().trim();
    expect(key).toMatch(/^slk_[a-z2-7]{10}_[A-Za-z0-9_-]{43}$/);

    await using sluice = await spawnSluice(['up'], { config });
    await sluice.waitForOutput('sluice is up');
    const apiUrl = /API\s+(http:\/\/\S+)/.exec(sluice.stdout())?.[1];
    expect(apiUrl, sluice.stdout()).toBeDefined();

    const event = {
      specversion: '1.0',
      id: 'order-1001',
      source: 'urn:shop',
      type: 'shop.order.created',
      subject: '1001',
      data: { total: '42.50', items: 3 },
    };
    const res = await request(`${apiUrl}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(event),
    });
    const answer = (await res.body.json()) as { events: { id: string; duplicate: boolean }[] };
    expect(res.statusCode).toBe(202);
    const id = answer.events[0]!.id;

    const [received] = await hook.waitFor(1, { timeoutMs: 20_000 });
    const delivered = new Webhook(secret).verify(received!.body, {
      'webhook-id': String(received!.headers['webhook-id']),
      'webhook-timestamp': String(received!.headers['webhook-timestamp']),
      'webhook-signature': String(received!.headers['webhook-signature']),
    }) as Record<string, unknown>;
    expect(received!.headers['webhook-id']).toBe(id);
    expect(delivered).toMatchObject({
      id,
      sluiceproducerid: 'order-1001',
      source: 'urn:shop',
      type: 'shop.order.created',
      data: event.data,
    });

    // CR/LF in attributes stay inside the JSON body: nothing reaches the delivery's headers.
    const injected = await request(`${apiUrl}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        ...event,
        id: 'order-1002',
        subject: '1002\r\nx-injected: 1',
        note: 'a\r\n\r\nx-injected: 2',
      }),
    });
    expect(injected.statusCode).toBe(202);
    await injected.body.dump();
    const [, second] = await hook.waitFor(2, { timeoutMs: 20_000 });
    expect(Object.keys(second!.headers).filter((h) => h.includes('injected'))).toEqual([]);
    expect(JSON.parse(second!.body)).toMatchObject({ subject: '1002\r\nx-injected: 1' });

    // The key never shows up in the process's output.
    expect(sluice.stdout() + sluice.stderr()).not.toContain(key);
    expect(sluice.stdout() + sluice.stderr()).not.toContain(secret);
  });
});
