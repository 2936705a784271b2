import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { eventSubject, idempotencyBucket, ingestEventId } from '@sluice/core';
import { waitFor } from '@sluice/test-harness';
import { auth, secretsIn, startApi, type ApiKit } from './api-kit.js';

// Retried POSTs are stored once: inside the stream's duplicate window by JetStream's Msg-Id dedupe,
// beyond it by the idempotency bucket. The window is 1 s here so that a test can outlive it.

let kit: ApiKit;
beforeAll(async () => {
  kit = await startApi({ nats: { duplicateWindowMs: 1_000 } });
});
afterAll(async () => {
  expect(secretsIn(kit.bodies)).toEqual([]);
  expect(secretsIn(kit.logs)).toEqual([]);
  await kit[Symbol.asyncDispose]();
});

const STRUCTURED = { 'content-type': 'application/cloudevents+json' };

function event(id: string, data: unknown = { n: 1 }): string {
  return JSON.stringify({ specversion: '1.0', id, source: '/retry', type: 'retry.test', data });
}

async function copiesOf(id: string): Promise<number> {
  return (await kit.storedEvents()).filter((m) => m.header.get('Nats-Msg-Id') === id).length;
}

/**
 * Waits until the stream's duplicate window has passed for everything published so far: a probe
 * published now is stored again under the same Msg-Id only once the window no longer covers it.
 */
async function outliveDuplicateWindow(): Promise<void> {
  const js = kit.jsm.jetstream();
  const subject = eventSubject(kit.config.nats, 0, 'test.window.probe');
  const msgID = `probe-${Date.now()}-${Math.random()}`;
  await js.publish(subject, 'probe', { msgID });
  await waitFor(async () => !(await js.publish(subject, 'probe', { msgID })).duplicate, {
    timeoutMs: 15_000,
    intervalMs: 100,
    message: 'the duplicate window to pass',
  });
}

describe('Idempotency-Key', () => {
  it('stores one event for two requests with the same key, and says duplicate the second time', async () => {
    const headers = auth(kit.keys.ingest, { ...STRUCTURED, 'idempotency-key': 'order-7-created' });
    // Different producer ids: the key alone decides the event id.
    const first = await kit.post('/v1/events', event('p-1'), headers);
    const second = await kit.post('/v1/events', event('p-2'), headers);
    const id = ingestEventId('/retry', 'order-7-created');
    expect(first.json).toEqual({ events: [{ id, duplicate: false }] });
    expect(second.status).toBe(202);
    expect(second.json).toEqual({ events: [{ id, duplicate: true }] });
    expect(await copiesOf(id)).toBe(1);
  });

  it('uses id and source when there is no key: a resent event is a duplicate', async () => {
    const headers = auth(kit.keys.ingest, STRUCTURED);
    const id = ingestEventId('/retry', 'same-event');
    expect((await kit.post('/v1/events', event('same-event'), headers)).json).toEqual({
      events: [{ id, duplicate: false }],
    });
    expect((await kit.post('/v1/events', event('same-event'), headers)).json).toEqual({
      events: [{ id, duplicate: true }],
    });
    expect(await copiesOf(id)).toBe(1);
  });

  it('stores one event when the retry comes after the duplicate window, from the bucket', async () => {
    const headers = auth(kit.keys.ingest, { ...STRUCTURED, 'idempotency-key': 'late-retry' });
    const id = ingestEventId('/retry', 'late-retry');
    expect((await kit.post('/v1/events', event('late'), headers)).json).toEqual({
      events: [{ id, duplicate: false }],
    });
    await outliveDuplicateWindow();
    const retry = await kit.post('/v1/events', event('late'), headers);
    expect(retry.status).toBe(202);
    expect(retry.json).toEqual({ events: [{ id, duplicate: true }] });
    expect(await copiesOf(id)).toBe(1);
  });

  it('stores the event again after the window once the bucket forgot it (the bucket is what holds)', async () => {
    // The control for the test above: without the bucket's record, the late retry is stored twice.
    const headers = auth(kit.keys.ingest, { ...STRUCTURED, 'idempotency-key': 'forgotten' });
    const id = ingestEventId('/retry', 'forgotten');
    await kit.post('/v1/events', event('f'), headers);
    await outliveDuplicateWindow();
    const kv = await new Kvm(kit.nc).open(idempotencyBucket(kit.config.nats));
    await kv.purge(id);
    const retry = await kit.post('/v1/events', event('f'), headers);
    expect(retry.json).toEqual({ events: [{ id, duplicate: false }] });
    expect(await copiesOf(id)).toBe(2);
  });

  it('keeps the records for api.idempotencyTtlMs: the bucket max age', async () => {
    const info = await kit.jsm.streams.info(`KV_${idempotencyBucket(kit.config.nats)}`);
    expect(info.config.max_age).toBe(kit.config.api.idempotencyTtlMs * 1_000_000);
  });

  it('refuses an Idempotency-Key that is not printable ASCII', async () => {
    const res = await kit.post(
      '/v1/events',
      event('x'),
      auth(kit.keys.ingest, { ...STRUCTURED, 'idempotency-key': 'a'.repeat(256) }),
    );
    expect(res.status).toBe(400);
  });
});
