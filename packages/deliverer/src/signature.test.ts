import { createPublicKey, generateKeyPairSync, verify as verifyEd25519, type KeyObject } from 'node:crypto';
import { Webhook as SvixWebhook } from 'svix';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  KeyCache,
  generateSecret,
  secretKey,
  sign,
  signatureHeader,
  verify,
  webhookHeaders,
  type SigningKeys,
} from './signature.js';

// The independent verifier (the `standardwebhooks` reference library) reads the clock; pin it so no
// result depends on when the test runs.
const NOW_SEC = 1_741_944_413;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW_SEC * 1000);
});
afterEach(() => {
  vi.useRealTimers();
});

const cache = new KeyCache();
const hmacOnly = (keys: readonly Uint8Array[]): SigningKeys => ({
  v1: keys.map((key) => ({ key })),
  v1a: [],
});

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OLD_SECRET = `whsec_${Buffer.alloc(32, 0x5a).toString('base64')}`;
const ID = 'evt_ba464c9a3c27d279e871f7f107f91c0e';
const BODY =
  '{"specversion":"1.0","id":"evt_ba464c9a3c27d279e871f7f107f91c0e","data":{"total":"19.90","note":"größe"}}';

describe('fixed vectors', () => {
  it('matches the Standard Webhooks specification example', () => {
    // From the Standard Webhooks spec / svix docs; also what `new Webhook(secret).sign(...)` returns.
    expect(
      sign([secretKey(SECRET)], 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1_614_265_330, '{"test": 2432232314}'),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('matches a vector pinned from the standardwebhooks package (non-ASCII body, event id)', () => {
    // Computed once with `new Webhook(OLD_SECRET).sign(ID, new Date(NOW_SEC * 1000), BODY)`.
    const expected = 'v1,HbPbJwYB6wgq0ypMAZ4os2MQAG5CE3rSpvX3URyTqpc=';
    expect(sign([secretKey(OLD_SECRET)], ID, NOW_SEC, BODY)).toBe(expected);
    expect(sign([secretKey(OLD_SECRET)], ID, NOW_SEC, Buffer.from(BODY, 'utf8'))).toBe(expected);
    expect(new Webhook(OLD_SECRET).sign(ID, new Date(NOW_SEC * 1000), BODY)).toBe(expected);
  });
});

describe('sign → verify', () => {
  it('verifies with our verifier', () => {
    const key = secretKey(SECRET);
    const headers = webhookHeaders(hmacOnly([key]), ID, NOW_SEC, BODY, cache);
    expect(headers['webhook-id']).toBe(ID);
    expect(headers['webhook-timestamp']).toBe(String(NOW_SEC));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    const result = verify(
      key,
      {
        id: headers['webhook-id'],
        timestamp: headers['webhook-timestamp'],
        signature: headers['webhook-signature'],
      },
      BODY,
      NOW_SEC,
    );
    expect(result).toBe('ok');
  });

  it('verifies with the independent standardwebhooks package', () => {
    const headers = webhookHeaders(hmacOnly([secretKey(SECRET)]), ID, NOW_SEC, Buffer.from(BODY), cache);
    expect(new Webhook(SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
  });

  it('accepts a secret given without its whsec_ prefix', () => {
    expect(secretKey(SECRET.slice('whsec_'.length))).toEqual(secretKey(SECRET));
  });
});

describe('rotation', () => {
  it('sends one space-separated signature per key, each verifying on its own', () => {
    const keys = [secretKey(SECRET), secretKey(OLD_SECRET)];
    const headers = webhookHeaders(hmacOnly(keys), ID, NOW_SEC, BODY, cache);
    const parts = headers['webhook-signature'].split(' ');
    expect(parts).toHaveLength(2);
    expect(parts[0]).toBe(sign([keys[0]!], ID, NOW_SEC, BODY));
    expect(parts[1]).toBe(sign([keys[1]!], ID, NOW_SEC, BODY));
    // A receiver holding either secret accepts the request.
    expect(new Webhook(SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    expect(new Webhook(OLD_SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    const asOurs = { id: ID, timestamp: String(NOW_SEC), signature: headers['webhook-signature'] };
    expect(verify(keys[0]!, asOurs, BODY, NOW_SEC)).toBe('ok');
    expect(verify(keys[1]!, asOurs, BODY, NOW_SEC)).toBe('ok');
    // …and a receiver holding neither refuses it.
    const other = generateSecret();
    expect(verify(secretKey(other), asOurs, BODY, NOW_SEC)).toBe('bad-signature');
    expect(() => new Webhook(other).verify(BODY, headers)).toThrow(WebhookVerificationError);
  });
});

describe('refusals', () => {
  const key = secretKey(SECRET);
  const signed = (ts = NOW_SEC, body = BODY) => ({
    id: ID,
    timestamp: String(ts),
    signature: sign([key], ID, ts, body),
  });

  it('refuses a stale or future timestamp beyond the tolerance', () => {
    expect(verify(key, signed(NOW_SEC - 301), BODY, NOW_SEC)).toBe('stale-timestamp');
    expect(verify(key, signed(NOW_SEC + 301), BODY, NOW_SEC)).toBe('stale-timestamp');
    expect(verify(key, signed(NOW_SEC - 300), BODY, NOW_SEC)).toBe('ok');
    expect(verify(key, signed(NOW_SEC - 60), BODY, NOW_SEC, 30)).toBe('stale-timestamp');
    const stale = webhookHeaders(hmacOnly([key]), ID, NOW_SEC - 3600, BODY, cache);
    expect(() => new Webhook(SECRET).verify(BODY, stale)).toThrow(/too old/);
  });

  it('refuses a non-numeric timestamp', () => {
    expect(verify(key, { ...signed(), timestamp: 'yesterday' }, BODY, NOW_SEC)).toBe('stale-timestamp');
  });

  it('refuses a tampered body, id or timestamp', () => {
    const tampered = BODY.replace('19.90', '0.01');
    expect(verify(key, signed(), tampered, NOW_SEC)).toBe('bad-signature');
    expect(verify(key, { ...signed(), id: `${ID}x` }, BODY, NOW_SEC)).toBe('bad-signature');
    expect(verify(key, { ...signed(), timestamp: String(NOW_SEC - 1) }, BODY, NOW_SEC)).toBe('bad-signature');
    expect(() =>
      new Webhook(SECRET).verify(tampered, webhookHeaders(hmacOnly([key]), ID, NOW_SEC, BODY, cache)),
    ).toThrow(/No matching signature/);
  });

  it('refuses missing headers, other versions and garbage', () => {
    expect(verify(key, { id: ID, timestamp: String(NOW_SEC) }, BODY, NOW_SEC)).toBe('missing-headers');
    expect(verify(key, { ...signed(), id: '' }, BODY, NOW_SEC)).toBe('missing-headers');
    const mac = signed().signature.slice(3);
    expect(verify(key, { ...signed(), signature: `v2,${mac}` }, BODY, NOW_SEC)).toBe('bad-signature');
    expect(verify(key, { ...signed(), signature: 'v1' }, BODY, NOW_SEC)).toBe('bad-signature');
    expect(verify(key, { ...signed(), signature: 'v1,AAAA' }, BODY, NOW_SEC)).toBe('bad-signature');
    expect(verify(key, { ...signed(), signature: `v1a,x v1,${mac}` }, BODY, NOW_SEC)).toBe('ok');
  });
});

describe('generateSecret', () => {
  it('makes whsec_ secrets of 32 random bytes by default, accepted by the reference library', () => {
    const a = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(secretKey(a)).toHaveLength(32);
    expect(generateSecret()).not.toBe(a);
    const headers = webhookHeaders(hmacOnly([secretKey(a)]), ID, NOW_SEC, BODY, cache);
    expect(new Webhook(a).verify(BODY, headers)).toEqual(JSON.parse(BODY));
  });

  it('accepts 24–64 bytes and refuses anything outside', () => {
    expect(secretKey(generateSecret(24))).toHaveLength(24);
    expect(secretKey(generateSecret(64))).toHaveLength(64);
    expect(() => generateSecret(23)).toThrow(RangeError);
    expect(() => generateSecret(65)).toThrow(RangeError);
  });
});

/** An ed25519 key pair as sluice keeps it: the seed, and the `whpk_` public key receivers get. */
function edPair(): { seed: Buffer; whpk: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    seed: Buffer.from(jwk.d!, 'base64url'),
    whpk: `whpk_${Buffer.from(jwk.x!, 'base64url').toString('base64')}`,
    publicKey,
  };
}

/** Verifies every `v1a,` signature of a header by hand with node:crypto and a `whpk_` key. */
function v1aVerifies(whpk: string, header: string, id: string, ts: number, body: string): boolean {
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(whpk.slice(5), 'base64').toString('base64url') },
    format: 'jwk',
  });
  const data = Buffer.from(`${id}.${ts}.${body}`, 'utf8');
  return header
    .split(' ')
    .filter((p) => p.startsWith('v1a,'))
    .some((p) => verifyEd25519(null, data, key, Buffer.from(p.slice(4), 'base64')));
}

describe('v1a (ed25519)', () => {
  it('signs "id.timestamp.body" verifiably with the whpk_ public key, and deterministically', () => {
    const pair = edPair();
    const keys: SigningKeys = { v1: [], v1a: [{ seed: pair.seed }] };
    const header = signatureHeader(keys, ID, NOW_SEC, BODY, cache);
    expect(header).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(v1aVerifies(pair.whpk, header, ID, NOW_SEC, BODY)).toBe(true);
    // Ed25519 is deterministic: both delivery modes send the same bytes.
    expect(signatureHeader(keys, ID, NOW_SEC, Buffer.from(BODY), new KeyCache())).toBe(header);
    // The HMAC verifiers skip v1a entries: alone, they find nothing to accept.
    expect(() => new Webhook(SECRET).verify(BODY, webhookHeaders(keys, ID, NOW_SEC, BODY, cache))).toThrow(
      WebhookVerificationError,
    );
  });

  it('refuses a tampered body, id or timestamp, and another key', () => {
    const pair = edPair();
    const header = signatureHeader({ v1: [], v1a: [{ seed: pair.seed }] }, ID, NOW_SEC, BODY, cache);
    expect(v1aVerifies(pair.whpk, header, ID, NOW_SEC, BODY.replace('19.90', '0.01'))).toBe(false);
    expect(v1aVerifies(pair.whpk, header, `${ID}x`, NOW_SEC, BODY)).toBe(false);
    expect(v1aVerifies(pair.whpk, header, ID, NOW_SEC + 1, BODY)).toBe(false);
    expect(v1aVerifies(edPair().whpk, header, ID, NOW_SEC, BODY)).toBe(false);
  });

  it('with signing "both": v1 entries first, then v1a; every verifier finds its own', () => {
    const pair = edPair();
    const keys: SigningKeys = { v1: [{ key: secretKey(SECRET) }], v1a: [{ seed: pair.seed }] };
    const headers = webhookHeaders(keys, ID, NOW_SEC, BODY, cache);
    const parts = headers['webhook-signature'].split(' ');
    expect(parts.map((p) => p.split(',')[0])).toEqual(['v1', 'v1a']);
    expect(new Webhook(SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    expect(new SvixWebhook(SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    expect(v1aVerifies(pair.whpk, headers['webhook-signature'], ID, NOW_SEC, BODY)).toBe(true);
  });
});

describe('expiry at sign time', () => {
  const oldKey = secretKey(OLD_SECRET);
  const newKey = secretKey(SECRET);
  const keys = (expiresAtMs: number): SigningKeys => ({
    v1: [{ key: newKey }, { key: oldKey, expiresAtMs }],
    v1a: [],
  });

  it('signs with the old key, after the new one, while its expiry is ahead of the timestamp', () => {
    const header = signatureHeader(keys(NOW_SEC * 1000 + 1), ID, NOW_SEC, BODY, cache);
    expect(header).toBe(`${sign([newKey], ID, NOW_SEC, BODY)} ${sign([oldKey], ID, NOW_SEC, BODY)}`);
  });

  it('leaves the old key out from its expiry on', () => {
    expect(signatureHeader(keys(NOW_SEC * 1000), ID, NOW_SEC, BODY, cache)).toBe(
      sign([newKey], ID, NOW_SEC, BODY),
    );
    const pair = edPair();
    const ed: SigningKeys = { v1: [], v1a: [{ seed: edPair().seed }, { seed: pair.seed, expiresAtMs: 1 }] };
    const header = signatureHeader(ed, ID, NOW_SEC, BODY, cache);
    expect(header.split(' ')).toHaveLength(1);
    expect(v1aVerifies(pair.whpk, header, ID, NOW_SEC, BODY)).toBe(false);
  });

  it('refuses to sign with no live key at all (a bug in key loading)', () => {
    expect(() => signatureHeader({ v1: [], v1a: [] }, ID, NOW_SEC, BODY, cache)).toThrow(/signing key/);
    expect(() =>
      signatureHeader({ v1: [{ key: newKey, expiresAtMs: 1 }], v1a: [] }, ID, NOW_SEC, BODY, cache),
    ).toThrow(/signing key/);
  });
});

describe('KeyCache', () => {
  it('makes one KeyObject per key, by content, however many copies of the bytes arrive', () => {
    const c = new KeyCache();
    const a = c.hmac(new Uint8Array(secretKey(SECRET)));
    expect(c.hmac(new Uint8Array(secretKey(SECRET)))).toBe(a);
    expect(c.hmac(secretKey(OLD_SECRET))).not.toBe(a);
    const seed = edPair().seed;
    expect(c.ed25519(new Uint8Array(seed))).toBe(c.ed25519(Buffer.from(seed)));
    expect(c.ed25519(seed).asymmetricKeyType).toBe('ed25519');
  });
});
