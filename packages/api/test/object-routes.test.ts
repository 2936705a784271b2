import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { objectEvents, readNotification } from '@sluice/objects';
import {
  ApiKeyStore,
  EventHeaders,
  buildConfig,
  connectNats,
  createLogger,
  eventsStream,
  openApiKeys,
  partitionFromEventSubject,
  partitionOf,
  provisionStreams,
  typeFromEventSubject,
  type Config,
} from '@sluice/core';
import { startNats, storedMessages, type TestNats } from '@sluice/test-harness';
import { createApiServer, type ApiServer } from '../src/server.js';
import { isErrorShape, secretsIn } from './api-kit.js';

// POST /v1/sources/:id/notifications over real HTTP against a real nats-server: every recorded S3 /
// MinIO notification stores exactly the events the mapping gives, before the 202; a redelivered
// notification is stored once; test events, skipped names, bad payloads, foreign buckets, unknown
// sources and keys are answered without storing anything.

const FIXTURES = new URL('../../../test/fixtures/s3/', import.meta.url);
const fixtureText = (name: string): string => readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8');
const WITH_EVENTS = [
  'aws-put',
  'aws-multipart',
  'aws-delete',
  'aws-delete-marker',
  'minio-put',
  'minio-delete',
];

let nats: TestNats;
let server: ApiServer;
let config: Config;
let url: string;
let keys: { ingest: string; read: string };
let jsm: JetStreamManager;
let closeJsm: () => Promise<void>;
const logs: string[] = [];
const bodies: string[] = [];

beforeAll(async () => {
  nats = await startNats();
  config = buildConfig(
    stringify({
      nats: { url: nats.url, partitions: 4 },
      logging: { level: 'debug' },
      api: { port: 0 },
      sources: [
        { id: 'media', kind: 's3' },
        { id: 'uploads-only', kind: 's3', buckets: ['uploads'] },
        { id: 'shop', url: 'mysql://sluice:pw@127.0.0.1:9/shop' },
      ],
    }),
    {},
  );
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const nc = await nats.connect({ name: 'object-routes-test' });
  const admin = await connectNats(config.nats, { name: 'object-routes-admin' });
  jsm = admin.jsm;
  closeJsm = () => admin.nc.close();
  await provisionStreams(jsm, config.nats);
  const store = new ApiKeyStore(await openApiKeys(nc, config.nats));
  keys = {
    ingest: (await store.create('ingest', 'minio webhook', Date.now())).key,
    read: (await store.create('read', undefined, Date.now())).key,
  };
  server = await createApiServer({ config, logger: createLogger(config.logging, sink), nc });
  url = await server.listen();
});

afterAll(async () => {
  expect(secretsIn(bodies)).toEqual([]);
  expect(secretsIn(logs)).toEqual([]);
  await server?.close();
  await closeJsm?.();
  await nats?.[Symbol.asyncDispose]();
});

interface Answer {
  status: number;
  json: unknown;
}

async function post(path: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const res = await request(`${url}${path}`, { method: 'POST', headers, body });
  const text = await res.body.text();
  bodies.push(text);
  return { status: res.statusCode, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

// What MinIO's webhook target sends: JSON and `Authorization: Bearer <auth_token>`.
const minio = (key: string): Record<string, string> => ({
  'content-type': 'application/json',
  authorization: `Bearer ${key}`,
});

function storedEvents(): Promise<StoredMsg[]> {
  return storedMessages(jsm, eventsStream(config.nats));
}

const byId = (stored: StoredMsg[], id: string): StoredMsg[] =>
  stored.filter((m) => m.header.get('Nats-Msg-Id') === id);

describe('POST /v1/sources/:id/notifications', () => {
  it.each(WITH_EVENTS)('stores the events of %s before answering 202', async (name) => {
    const expected = objectEvents({ id: 'media' }, readNotification(JSON.parse(fixtureText(name))));
    expect(expected.events).toHaveLength(1);
    const res = await post('/v1/sources/media/notifications', fixtureText(name), minio(keys.ingest));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({
      events: expected.events.map((e) => ({ id: e.event.id, duplicate: false })),
      skipped: 0,
    });
    // Read right after the answer, without waiting: the 202 came after the PubAck.
    const stored = await storedEvents();
    for (const e of expected.events) {
      const [m, ...more] = byId(stored, e.event.id);
      expect(more).toEqual([]);
      expect(JSON.parse(m!.string())).toEqual(e.event);
      expect(m!.header.get(EventHeaders.source)).toBe('media');
      expect(typeFromEventSubject(config.nats, m!.subject)).toBe(e.event.type);
      expect(partitionFromEventSubject(config.nats, m!.subject)).toBe(
        partitionOf(e.key, config.nats.partitions),
      );
    }
  });

  it('stores a notification delivered twice once, and says so', async () => {
    const text = fixtureText('aws-delete-marker').replace('00666C26BD0F4A1E52', '00666C26BD0F4A1E99');
    const first = await post('/v1/sources/media/notifications', text, minio(keys.ingest));
    // S3 and MinIO retry; the second copy may differ in whitespace and key order only.
    const again = JSON.stringify(JSON.parse(text));
    const second = await post('/v1/sources/media/notifications', again, minio(keys.ingest));
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    const [a] = (first.json as { events: { id: string; duplicate: boolean }[] }).events;
    expect(a!.duplicate).toBe(false);
    expect(second.json).toEqual({ events: [{ id: a!.id, duplicate: true }], skipped: 0 });
    expect(byId(await storedEvents(), a!.id)).toHaveLength(1);
  });

  it('answers the S3 test event 200 without storing anything', async () => {
    const before = (await storedEvents()).length;
    const res = await post(
      '/v1/sources/media/notifications',
      fixtureText('aws-test-event'),
      minio(keys.ingest),
    );
    expect(res).toEqual({ status: 200, json: { events: [], skipped: 0 } });
    expect((await storedEvents()).length).toBe(before);
  });

  it('counts records of other event names as skipped', async () => {
    const before = (await storedEvents()).length;
    const text = fixtureText('aws-restore-completed');
    const res = await post('/v1/sources/media/notifications', text, minio(keys.ingest));
    expect(res).toEqual({ status: 202, json: { events: [], skipped: 1 } });
    expect((await storedEvents()).length).toBe(before);
  });

  it('takes a bare Authorization key and a body without a JSON content type', async () => {
    const text = fixtureText('minio-put').replace('17D8F1B2C3EF0A12', '17D8F1B2C3EF0B01');
    const res = await post('/v1/sources/media/notifications', text, {
      authorization: keys.ingest,
      'content-type': 'text/plain',
    });
    expect(res.status).toBe(202);
  });
});

describe('refusals', () => {
  const before = async (): Promise<number> => (await storedEvents()).length;

  it.each([
    ['not JSON', '{"Records":['],
    ['no Records', '{"EventName":"s3:ObjectCreated:Put","Key":"b/k"}'],
    ['a key with a broken escape', fixtureText('minio-put').replace('avatars%2Fada', 'avatars%ZFada')],
    [
      'a record without a time',
      fixtureText('aws-put').replace('"eventTime": "2024-06-14T09:21:33.512Z",', ''),
    ],
    ['a __proto__ key', '{"Records":[],"__proto__":{"x":1}}'],
  ])('%s → 400 SLUICE_NOTIFICATION_INVALID, nothing stored', async (_, body) => {
    const n = await before();
    const res = await post('/v1/sources/media/notifications', body, minio(keys.ingest));
    expect(res.status).toBe(400);
    expect(isErrorShape(res.json)).toBe(true);
    expect((res.json as { error: { code: string } }).error.code).toBe('SLUICE_NOTIFICATION_INVALID');
    expect(await before()).toBe(n);
  });

  it('refuses a bucket outside the source list with 403 SLUICE_NOTIFICATION_BUCKET', async () => {
    const n = await before();
    const res = await post(
      '/v1/sources/uploads-only/notifications',
      fixtureText('aws-put'),
      minio(keys.ingest),
    );
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ error: { code: 'SLUICE_NOTIFICATION_BUCKET' } });
    expect(await before()).toBe(n);
    const ok = await post(
      '/v1/sources/uploads-only/notifications',
      fixtureText('minio-delete').replace('17D8F2C9A0C47B55', '17D8F2C9A0C47C00'),
      minio(keys.ingest),
    );
    expect(ok.status).toBe(202);
  });

  it.each([
    ['an unknown source', 'nope'],
    ['a MySQL source', 'shop'],
  ])('answers %s 404 SLUICE_NOT_FOUND', async (_, id) => {
    const res = await post(`/v1/sources/${id}/notifications`, fixtureText('minio-put'), minio(keys.ingest));
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: { code: 'SLUICE_NOT_FOUND' } });
  });

  it('wants an ingest key: 401 without one, 403 with a read key', async () => {
    const none = await post('/v1/sources/media/notifications', fixtureText('minio-put'), {
      'content-type': 'application/json',
    });
    expect(none.status).toBe(401);
    const read = await post('/v1/sources/media/notifications', fixtureText('minio-put'), minio(keys.read));
    expect(read.status).toBe(403);
    expect(read.json).toMatchObject({ error: { code: 'SLUICE_AUTH_FORBIDDEN' } });
  });
});
