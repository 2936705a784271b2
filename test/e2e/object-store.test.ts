import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { Webhook } from 'standardwebhooks';
import { describe, expect, test } from 'vitest';
import { objectEvents, readNotification } from '@sluice/objects';
import { ApiKeyStore, buildConfig, openApiKeys } from '@sluice/core';
import {
  spawnSluice,
  startNats,
  startReceiver,
  uniqueName,
  type RecordedRequest,
} from '@sluice/test-harness';

// Object-store notifications end to end through `sluice up`: AWS S3 records posted to the HTTP route
// and MinIO records published to the source's NATS subject (as MinIO's NATS target does) arrive at a
// receiver as signed `object.created` / `object.removed` webhooks that verify with the
// standardwebhooks package, one per event.

const FIXTURES = new URL('../fixtures/s3/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8');
const HTTP_FIXTURES = [
  'aws-put',
  'aws-multipart',
  'aws-delete',
  'aws-delete-marker',
  'aws-test-event',
  'aws-restore-completed',
];
const NATS_FIXTURES = ['minio-put', 'minio-delete'];

function verified(secret: string, r: RecordedRequest): Record<string, unknown> {
  return new Webhook(secret).verify(r.body, {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  }) as Record<string, unknown>;
}

describe('sluice up: bucket notification → signed webhook', () => {
  test('over HTTP and over NATS, every object event arrives once and verifies', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver();
    const prefix = uniqueName('p');
    const subject = `minio.${uniqueName('events')}`;
    const nc = await nats.connect({ name: 'object-store-e2e' });
    // The key MinIO's webhook target would carry as its auth_token.
    const natsConfig = buildConfig(JSON.stringify({ nats: { url: nats.url, prefix } }), {}).nats;
    const { key } = await new ApiKeyStore(await openApiKeys(nc, natsConfig)).create(
      'ingest',
      'minio',
      Date.now(),
    );
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    await using sluice = await spawnSluice(['up'], {
      config: {
        nats: { url: nats.url, prefix },
        api: { port: 0 },
        sources: [{ id: 'media', kind: 's3', nats: { subject } }],
        endpoints: [{ id: 'hook', url: hook.url, secret, allowNetworks: ['127.0.0.1/32'] }],
        subscriptions: [{ id: 'objects', endpoint: 'hook', types: ['object.>'] }],
      },
    });
    await sluice.waitForOutput('sluice is up');
    const api = /API\s+(http:\/\/\S+)/.exec(sluice.stdout())?.[1];
    expect(api, sluice.stdout()).toBeDefined();

    for (const name of HTTP_FIXTURES) {
      const res = await request(`${api}/v1/sources/media/notifications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: fixture(name),
      });
      await res.body.text();
      expect(res.statusCode, name).toBe(name === 'aws-test-event' ? 200 : 202);
    }
    for (const name of NATS_FIXTURES) nc.publish(subject, Buffer.from(fixture(name)));
    await nc.flush();

    const expected = [...HTTP_FIXTURES, ...NATS_FIXTURES].flatMap(
      (name) => objectEvents({ id: 'media' }, readNotification(JSON.parse(fixture(name)))).events,
    );
    expect(expected).toHaveLength(6);
    await hook.waitFor(expected.length, { timeoutMs: 30_000 });

    const received = hook.requests.map((r) => ({ r, e: verified(secret, r) }));
    expect(received.map(({ e }) => e.id).sort()).toEqual(expected.map((x) => x.event.id).sort());
    for (const { r, e } of received) {
      const want = expected.find((x) => x.event.id === e.id)!.event;
      // The webhook body is the stored CloudEvent as it is.
      expect(e).toEqual(want);
      expect(r.headers['webhook-id']).toBe(e.id);
    }
    const types = received.map(({ e }) => e.type).sort();
    expect(types).toEqual([
      'object.created',
      'object.created',
      'object.created',
      'object.removed',
      'object.removed',
      'object.removed',
    ]);
    // A wrong secret does not verify.
    expect(() => verified(`whsec_${randomBytes(32).toString('base64')}`, hook.requests[0]!)).toThrow();
  });
});
