import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredMsg } from '@nats-io/jetstream';
import {
  EventHeaders,
  eventsStream,
  ingestEventId,
  partitionFromEventSubject,
  partitionOf,
  provisionStreams,
  typeFromEventSubject,
} from '@sluice/core';
import { INGEST_SOURCE } from '../src/ingest-routes.js';
import { auth, isErrorShape, secretsIn, startApi, type ApiKit } from './api-kit.js';

// POST /v1/events over real HTTP against a real nats-server: every mode stores the right event, and
// the 202 comes only once it is in SLUICE_EVENTS (read back right after the answer, without waiting).

let kit: ApiKit;
beforeAll(async () => {
  kit = await startApi({ api: { maxBatchEvents: 5 } });
});
afterAll(async () => {
  // Every response and log line of the file: no API key, no signing secret.
  expect(secretsIn(kit.bodies)).toEqual([]);
  expect(secretsIn(kit.logs)).toEqual([]);
  await kit[Symbol.asyncDispose]();
});

let counter = 0;
function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

async function storedById(id: string): Promise<StoredMsg[]> {
  return (await kit.storedEvents()).filter((m) => m.header.get('Nats-Msg-Id') === id);
}

function eventOf(m: StoredMsg): Record<string, unknown> {
  return JSON.parse(m.string()) as Record<string, unknown>;
}

describe('structured mode', () => {
  it('stores the event with the deterministic id, the producer id and the data text as sent', async () => {
    const producerId = unique('order');
    // 2^70 and a long decimal survive only if the data is stored as the producer's text.
    const data =
      '{"total": 1180591620717411303424, "price": 0.1000000000000000055511151231257827, "n": [1,2]}';
    const body = `{"specversion":"1.0","id":"${producerId}","source":"/shop","type":"shop.order.created","subject":"o-1","time":"2026-01-02T03:04:05.123456Z","tenant":"acme","data":${data}}`;
    const res = await kit.post(
      '/v1/events',
      body,
      auth(kit.keys.ingest, { 'content-type': 'application/cloudevents+json' }),
    );
    expect(res.status).toBe(202);
    const id = ingestEventId('/shop', producerId);
    expect(res.json).toEqual({ events: [{ id, duplicate: false }] });

    const [stored, ...more] = await storedById(id);
    expect(more).toEqual([]);
    expect(stored!.header.get(EventHeaders.source)).toBe(INGEST_SOURCE);
    const ns = kit.config.nats;
    expect(typeFromEventSubject(ns, stored!.subject)).toBe('shop.order.created');
    expect(partitionFromEventSubject(ns, stored!.subject)).toBe(partitionOf('o-1', ns.partitions));
    expect(stored!.string()).toContain(`"data":${data}}`);
    expect(eventOf(stored!)).toEqual({
      specversion: '1.0',
      id,
      sluiceproducerid: producerId,
      source: '/shop',
      type: 'shop.order.created',
      subject: 'o-1',
      time: '2026-01-02T03:04:05.123456Z',
      tenant: 'acme',
      data: JSON.parse(data),
    });
  });

  it('takes application/json whose body has a specversion, and partitions by partitionkey', async () => {
    const producerId = unique('plain');
    const res = await kit.post(
      '/v1/events',
      JSON.stringify({
        specversion: '1.0',
        id: producerId,
        source: 'urn:billing',
        type: 'billing.invoice.paid',
        subject: 'ignored-for-partitioning',
        partitionkey: 'customer-42',
      }),
      auth(kit.keys.ingest, { 'content-type': 'application/json; charset=utf-8' }),
    );
    expect(res.status).toBe(202);
    const id = ingestEventId('urn:billing', producerId);
    const [stored] = await storedById(id);
    expect(partitionFromEventSubject(kit.config.nats, stored!.subject)).toBe(
      partitionOf('customer-42', kit.config.nats.partitions),
    );
    expect(eventOf(stored!)).not.toHaveProperty('data');
  });

  it('refuses plain JSON without a specversion with 415, and an invalid event with 400', async () => {
    const notEvent = await kit.post(
      '/v1/events',
      '{"hello":"world"}',
      auth(kit.keys.ingest, { 'content-type': 'application/json' }),
    );
    expect(notEvent.status).toBe(415);
    expect((notEvent.json as { error: { code: string } }).error.code).toBe('SLUICE_UNSUPPORTED_MEDIA_TYPE');
    const before = (await kit.storedEvents()).length;
    for (const bad of [
      { specversion: '0.3', id: 'a', source: 's', type: 't' },
      { specversion: '1.0', id: '', source: 's', type: 't' },
      { specversion: '1.0', id: 'a', source: 's', type: 'a..b' },
      { specversion: '1.0', id: 'a', source: 's', type: 't', time: '2026-02-30T00:00:00Z' },
      { specversion: '1.0', id: 'a', source: 's', type: 't', 'Bad-Name': 'x' },
      { specversion: '1.0', id: 'a', source: 's', type: 't', sluicetxid: 'forged' },
      { specversion: '1.0', id: 'a', source: 's', type: 't', data: 1, data_base64: 'AA==' },
    ]) {
      const res = await kit.post(
        '/v1/events',
        JSON.stringify(bad),
        auth(kit.keys.ingest, { 'content-type': 'application/cloudevents+json' }),
      );
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(isErrorShape(res.json)).toBe(true);
      expect((res.json as { error: { code: string } }).error.code).toBe('SLUICE_INGEST_INVALID');
    }
    expect((await kit.storedEvents()).length).toBe(before);
  });
});

describe('binary mode', () => {
  it('takes attributes from ce-* headers (percent-decoded) and a JSON body as data', async () => {
    const producerId = unique('bin');
    const res = await kit.post('/v1/events', '{"sku": "A-1", "qty": 3}\n', {
      authorization: `Bearer ${kit.keys.ingest}`,
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': producerId,
      'ce-source': '/warehouse',
      'ce-type': 'stock.moved',
      'ce-subject': 'caf%C3%A9',
      'ce-partitionkey': 'sku-A-1',
      'ce-region': 'eu',
    });
    expect(res.status).toBe(202);
    const id = ingestEventId('/warehouse', producerId);
    const [stored] = await storedById(id);
    expect(partitionFromEventSubject(kit.config.nats, stored!.subject)).toBe(
      partitionOf('sku-A-1', kit.config.nats.partitions),
    );
    expect(eventOf(stored!)).toEqual({
      specversion: '1.0',
      id,
      sluiceproducerid: producerId,
      source: '/warehouse',
      type: 'stock.moved',
      subject: 'café',
      partitionkey: 'sku-A-1',
      region: 'eu',
      datacontenttype: 'application/json',
      data: { sku: 'A-1', qty: 3 },
    });
  });

  it('stores a body of another media type as data_base64', async () => {
    const producerId = unique('png');
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe]);
    const res = await kit.post('/v1/events', bytes, {
      authorization: kit.keys.ingest, // bare key, as MinIO sends it
      'content-type': 'image/png',
      'ce-specversion': '1.0',
      'ce-id': producerId,
      'ce-source': '/cam',
      'ce-type': 'camera.frame',
    });
    expect(res.status).toBe(202);
    const [stored] = await storedById(ingestEventId('/cam', producerId));
    const event = eventOf(stored!);
    expect(event.datacontenttype).toBe('image/png');
    expect(Buffer.from(event.data_base64 as string, 'base64')).toEqual(bytes);
    // Without a subject or partitionkey, the id is the partition key.
    expect(partitionFromEventSubject(kit.config.nats, stored!.subject)).toBe(
      partitionOf(event.id as string, kit.config.nats.partitions),
    );
  });

  it('refuses a binary request without ce-type with 400', async () => {
    const res = await kit.post('/v1/events', 'x', {
      authorization: `Bearer ${kit.keys.ingest}`,
      'content-type': 'text/plain',
      'ce-specversion': '1.0',
      'ce-id': 'x',
      'ce-source': '/s',
    });
    expect(res.status).toBe(400);
    expect((res.json as { error: { message: string } }).error.message).toContain('type');
  });
});

describe('batch mode', () => {
  it('stores every event of the batch, in order, and answers one entry each', async () => {
    const ids = [unique('b'), unique('b'), unique('b')];
    const batch = ids.map((id, i) => ({
      specversion: '1.0',
      id,
      source: '/batch',
      type: 'batch.item',
      partitionkey: 'one-key',
      data: { i },
    }));
    const res = await kit.post(
      '/v1/events',
      JSON.stringify(batch),
      auth(kit.keys.ingest, { 'content-type': 'application/cloudevents-batch+json' }),
    );
    expect(res.status).toBe(202);
    const expected = ids.map((id) => ingestEventId('/batch', id));
    expect(res.json).toEqual({ events: expected.map((id) => ({ id, duplicate: false })) });
    const stored = (await kit.storedEvents()).filter((m) => expected.includes(m.header.get('Nats-Msg-Id')));
    expect(stored.map((m) => m.header.get('Nats-Msg-Id'))).toEqual(expected);
    expect(stored.map((m) => (eventOf(m).data as { i: number }).i)).toEqual([0, 1, 2]);
  });

  it('stores nothing of a batch with one invalid event, one too many, or an Idempotency-Key', async () => {
    const before = (await kit.storedEvents()).length;
    const good = (id: string): Record<string, unknown> => ({
      specversion: '1.0',
      id,
      source: '/batch',
      type: 'batch.item',
    });
    const cases: [unknown, Record<string, string>][] = [
      [[good(unique('x')), { ...good(unique('x')), type: '' }], {}],
      [Array.from({ length: 6 }, () => good(unique('x'))), {}],
      [[good(unique('x'))], { 'idempotency-key': 'k1' }],
      [{ not: 'an array' }, {}],
    ];
    for (const [body, extra] of cases) {
      const res = await kit.post(
        '/v1/events',
        JSON.stringify(body),
        auth(kit.keys.ingest, { 'content-type': 'application/cloudevents-batch+json', ...extra }),
      );
      expect(res.status).toBe(400);
      expect((res.json as { error: { code: string } }).error.code).toBe('SLUICE_INGEST_INVALID');
    }
    expect((await kit.storedEvents()).length).toBe(before);
  });
});

describe('503 only when JetStream does not acknowledge', () => {
  it('answers 503 SLUICE_PUBLISH_FAILED while the events stream is missing, 202 once it is back', async () => {
    const stream = eventsStream(kit.config.nats);
    const event = JSON.stringify({ specversion: '1.0', id: unique('gone'), source: '/s', type: 't.t' });
    const headers = auth(kit.keys.ingest, { 'content-type': 'application/cloudevents+json' });
    await kit.jsm.streams.delete(stream);
    try {
      const res = await kit.post('/v1/events', event, headers);
      expect(res.status).toBe(503);
      expect((res.json as { error: { code: string } }).error.code).toBe('SLUICE_PUBLISH_FAILED');
    } finally {
      await provisionStreams(kit.jsm, kit.config.nats);
    }
    const again = await kit.post('/v1/events', event, headers);
    expect(again.status).toBe(202);
  });
});
