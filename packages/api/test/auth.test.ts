import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeJson, endpointsBucket, generateApiKey } from '@sluice/core';
import { Kvm } from '@nats-io/kv';
import { waitFor } from '@sluice/test-harness';
import { auth, isErrorShape, secretsIn, startApi, type ApiKit, type ApiResponse } from './api-kit.js';

// The auth matrix over real HTTP: 401 without a valid key, 403 outside the key's scope, and the
// error shape everywhere. GET /v1/endpoints shows no secret and no credentials.

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

let kit: ApiKit;
beforeAll(async () => {
  kit = await startApi({
    endpoints: [
      { id: 'billing', url: 'https://billing.example/hooks?token=abc#x', secret: SECRET },
      { id: 'crm', url: 'https://crm.example/in', secret: SECRET, enabled: false },
    ],
  });
});
afterAll(async () => {
  expect(secretsIn(kit.bodies)).toEqual([]);
  expect(secretsIn(kit.logs)).toEqual([]);
  expect(kit.logs.join('\n')).not.toContain(SECRET.slice(6));
  await kit[Symbol.asyncDispose]();
});

const STRUCTURED = { 'content-type': 'application/cloudevents+json' };

function postEvent(headers: Record<string, string>): Promise<ApiResponse> {
  const id = `auth-${Math.random().toString(36).slice(2)}`;
  return kit.post(
    '/v1/events',
    JSON.stringify({ specversion: '1.0', id, source: '/auth', type: 'auth.test' }),
    { ...STRUCTURED, ...headers },
  );
}

function code(res: ApiResponse): string | undefined {
  expect(isErrorShape(res.json), res.text).toBe(true);
  return (res.json as { error: { code: string } }).error.code;
}

describe('401 without a valid key', () => {
  it.each([
    ['no key', {}],
    ['a malformed key', { authorization: 'Bearer not-a-key' }],
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['an unknown key', { authorization: `Bearer ${generateApiKey('admin', undefined, 0).key}` }],
  ] as const)('%s', async (_, headers) => {
    const res = await postEvent(headers);
    expect(res.status).toBe(401);
    expect(code(res)).toBe('SLUICE_AUTH_REQUIRED');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('a known id with the wrong secret', async () => {
    const forged = `${kit.keys.admin.slice(0, 15)}${randomBytes(32).toString('base64url')}`;
    const res = await postEvent(auth(forged));
    expect(res.status).toBe(401);
    expect(code(res)).toBe('SLUICE_AUTH_REQUIRED');
  });

  it('a revoked key, within moments of the revoke', async () => {
    const { key, record } = await kit.store.create('ingest', 'to revoke', Date.now());
    expect((await postEvent(auth(key))).status).toBe(202);
    await kit.store.revoke(record.id, Date.now());
    await waitFor(async () => (await postEvent(auth(key))).status === 401, {
      timeoutMs: 2_000,
      message: 'the revoked key to be refused',
    });
    const res = await postEvent(auth(key));
    expect(res.status).toBe(401);
    expect((res.json as { error: { message: string } }).error.message).toContain('revoked');
  });
});

describe('scopes', () => {
  it('403 for a read key on POST /v1/events; ingest and admin keys are accepted', async () => {
    const read = await postEvent(auth(kit.keys.read));
    expect(read.status).toBe(403);
    expect(code(read)).toBe('SLUICE_AUTH_FORBIDDEN');
    expect((await postEvent(auth(kit.keys.ingest))).status).toBe(202);
    expect((await postEvent(auth(kit.keys.admin))).status).toBe(202);
    // The bare key, as MinIO's webhook target sends it.
    expect((await postEvent({ authorization: kit.keys.ingest })).status).toBe(202);
  });

  it('a key created while the server runs works at once', async () => {
    const { key } = await kit.store.create('ingest', 'fresh', Date.now());
    expect((await postEvent(auth(key))).status).toBe(202);
  });

  it('GET /v1/endpoints: read and admin keys, not ingest; no secret, no credentials', async () => {
    const kv = await new Kvm(kit.nc).open(endpointsBucket(kit.config.nats));
    await kv.put('billing', encodeJson({ disabled: false, failingSinceMs: 1234, updatedAtMs: 1 }));
    expect((await kit.get('/v1/endpoints', auth(kit.keys.ingest))).status).toBe(403);
    expect((await kit.get('/v1/endpoints')).status).toBe(401);
    for (const key of [kit.keys.read, kit.keys.admin]) {
      const res = await kit.get('/v1/endpoints', auth(key));
      expect(res.status).toBe(200);
      expect(res.json).toEqual({
        endpoints: [
          {
            id: 'billing',
            url: 'https://billing.example/hooks',
            enabled: true,
            health: { disabled: false, failingSinceMs: 1234 },
          },
          { id: 'crm', url: 'https://crm.example/in', enabled: false, health: { disabled: false } },
        ],
      });
      expect(res.text).not.toMatch(/token|abc|whsec_/);
    }
  });
});

describe('public routes and errors', () => {
  it('serves health and the OpenAPI document without a key', async () => {
    expect((await kit.get('/v1/health')).json).toEqual({ status: 'ok' });
    const openapi = await kit.get('/v1/openapi.json');
    expect(openapi.status).toBe(200);
    expect((openapi.json as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('answers unknown routes and methods with 404 in the error shape', async () => {
    for (const res of [
      await kit.get('/v1/nope', auth(kit.keys.admin)),
      await kit.get('/v1/events', auth(kit.keys.admin)),
      await kit.post('/', 'x', { 'content-type': 'text/plain' }),
    ]) {
      expect(res.status).toBe(404);
      expect(code(res)).toBe('SLUICE_NOT_FOUND');
    }
  });
});
