import assert from 'node:assert';
import {
  createHmac,
  createPrivateKey,
  createSecretKey,
  randomBytes,
  sign as signData,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com/). `v1`: the signature is
 * `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, where the key is the base64-decoded part
 * of a `whsec_` secret. `v1a`: `v1a,<base64 ed25519 signature of the same content>`, checked with the
 * endpoint's `whpk_` public key. Several keys (rotation) give several space-separated signatures.
 * See docs/signing.md.
 */

const PREFIX = 'whsec_';
// PKCS#8 DER of an ed25519 private key: this fixed prefix, then the 32-byte seed (RFC 8410). Spelt
// out here rather than imported from @sluice/core, whose index would load NATS, pino and TypeBox into
// every delivery worker thread.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** One HMAC key of an endpoint (`v1`). */
export interface HmacKey {
  /** The decoded bytes of a `whsec_` secret. */
  readonly key: Uint8Array;
  /** Not used for requests stamped at or after this time, ms since the epoch; absent: no expiry. */
  readonly expiresAtMs?: number;
}

/** One ed25519 key of an endpoint (`v1a`). */
export interface Ed25519Key {
  /** The 32-byte private key seed (the bytes of a `whsk_` key). */
  readonly seed: Uint8Array;
  /** Not used for requests stamped at or after this time, ms since the epoch; absent: no expiry. */
  readonly expiresAtMs?: number;
}

/**
 * The keys one endpoint signs with, each list newest first. Plain data: it crosses to the delivery
 * workers as bytes, and each side turns the bytes into KeyObjects through its own {@link KeyCache}.
 */
export interface SigningKeys {
  readonly v1: readonly HmacKey[];
  readonly v1a: readonly Ed25519Key[];
}

/** Decodes a `whsec_` secret to its HMAC key bytes. */
export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

/** Creates a new random secret of `bytes` random bytes (24–64; the spec's range). */
export function generateSecret(bytes = 32): string {
  if (bytes < 24 || bytes > 64) throw new RangeError('secret length must be 24–64 bytes');
  return PREFIX + randomBytes(bytes).toString('base64');
}

const CACHE_LIMIT = 1024;

/**
 * KeyObjects made from key bytes, made once and reused: an ed25519 private key is parsed from its
 * PKCS#8 encoding, which costs more than the signature itself. One cache per thread (KeyObjects do
 * not cross threads); bounded, since rotations keep bringing new keys.
 */
export class KeyCache {
  readonly #objects = new Map<string, KeyObject>();

  /** The HMAC KeyObject of `key`. */
  hmac(key: Uint8Array): KeyObject {
    return this.#get(`h${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64')}`, () =>
      createSecretKey(key),
    );
  }

  /** The ed25519 private KeyObject of a 32-byte `seed`. */
  ed25519(seed: Uint8Array): KeyObject {
    return this.#get(
      `e${Buffer.from(seed.buffer, seed.byteOffset, seed.byteLength).toString('base64')}`,
      () =>
        createPrivateKey({
          key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
          format: 'der',
          type: 'pkcs8',
        }),
    );
  }

  #get(id: string, make: () => KeyObject): KeyObject {
    let k = this.#objects.get(id);
    if (!k) {
      if (this.#objects.size >= CACHE_LIMIT) this.#objects.clear();
      k = make();
      this.#objects.set(id, k);
    }
    return k;
  }
}

function content(id: string, timestampSec: number, body: string | Uint8Array): Buffer {
  const head = Buffer.from(`${id}.${timestampSec}.`, 'utf8');
  return Buffer.concat([head, typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
}

/** The `v1` signatures (HMAC-SHA256) for `keys`, newest first, without any expiry check. */
export function sign(
  keys: readonly (Uint8Array | KeyObject)[],
  id: string,
  timestampSec: number,
  body: string | Uint8Array,
): string {
  const out: string[] = [];
  for (const key of keys) {
    const mac = createHmac('sha256', key).update(`${id}.${timestampSec}.`).update(body).digest('base64');
    out.push(`v1,${mac}`);
  }
  return out.join(' ');
}

/**
 * The `webhook-signature` value for one attempt: a `v1,` signature per HMAC key, then a `v1a,` one
 * per ed25519 key, each newest first, leaving out keys expired at the attempt's timestamp — so an
 * old secret drops out at the end of its rotation overlap without anyone touching the endpoint.
 */
export function signatureHeader(
  keys: SigningKeys,
  id: string,
  timestampSec: number,
  body: string | Uint8Array,
  cache: KeyCache,
): string {
  const atMs = timestampSec * 1000;
  const live = (k: { expiresAtMs?: number }): boolean => k.expiresAtMs === undefined || atMs < k.expiresAtMs;
  const parts: string[] = [];
  const hmacKeys = keys.v1.filter(live).map((k) => cache.hmac(k.key));
  if (hmacKeys.length > 0) parts.push(sign(hmacKeys, id, timestampSec, body));
  const edKeys = keys.v1a.filter(live);
  if (edKeys.length > 0) {
    const data = content(id, timestampSec, body);
    for (const k of edKeys)
      parts.push(`v1a,${signData(null, data, cache.ed25519(k.seed)).toString('base64')}`);
  }
  // The newest key of each kind never expires; an endpoint without one is a bug in key loading.
  assert(parts.length > 0, 'an endpoint has at least one signing key that has not expired');
  return parts.join(' ');
}

/** The three Standard Webhooks headers of one attempt. */
export function webhookHeaders(
  keys: SigningKeys,
  id: string,
  timestampSec: number,
  body: string | Uint8Array,
  cache: KeyCache,
): { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string } {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': signatureHeader(keys, id, timestampSec, body, cache),
  };
}

/** Why {@link verify} refused a request, or `ok`. */
export type VerifyResult = 'ok' | 'missing-headers' | 'stale-timestamp' | 'bad-signature';

/**
 * Verifies a received webhook's `v1` signature in constant time, allowing `toleranceSec` of clock skew
 * (default ±5 min, as the reference libraries do). Used by the demo receiver; tests use the
 * independent npm verifiers.
 */
export function verify(
  key: Buffer,
  headers: { id?: string | undefined; timestamp?: string | undefined; signature?: string | undefined },
  body: string | Uint8Array,
  nowSec: number,
  toleranceSec = 300,
): VerifyResult {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return 'missing-headers';
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowSec - ts) > toleranceSec) return 'stale-timestamp';
  const expected = Buffer.from(sign([key], id, ts, body).slice(3), 'base64');
  for (const part of signature.split(' ')) {
    const [version, mac] = part.split(',', 2);
    if (version !== 'v1' || mac === undefined) continue;
    const got = Buffer.from(mac, 'base64');
    if (got.length === expected.length && timingSafeEqual(got, expected)) return 'ok';
  }
  return 'bad-signature';
}
