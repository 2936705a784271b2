import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks v1 signing (https://www.standardwebhooks.com/): the signature is
 * `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, where the key is the base64-decoded part
 * of a `whsec_` secret. Several secrets (rotation) give several space-separated signatures.
 */

const PREFIX = 'whsec_';

/** Decodes a `whsec_` secret to its HMAC key bytes. */
export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

/** Creates a new random secret of `bytes` random bytes (24–64; the spec's range). */
export function generateSecret(bytes = 32): string {
  if (bytes < 24 || bytes > 64) throw new RangeError('secret length must be 24–64 bytes');
  return PREFIX + randomBytes(bytes).toString('base64');
}

/** The `webhook-signature` header value for one attempt. */
export function sign(
  keys: readonly Uint8Array[],
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

/** The three Standard Webhooks headers of one attempt. */
export function webhookHeaders(
  keys: readonly Uint8Array[],
  id: string,
  timestampSec: number,
  body: string | Uint8Array,
): { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string } {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': sign(keys, id, timestampSec, body),
  };
}

/** Why {@link verify} refused a request, or `ok`. */
export type VerifyResult = 'ok' | 'missing-headers' | 'stale-timestamp' | 'bad-signature';

/**
 * Verifies a received webhook in constant time, allowing `toleranceSec` of clock skew (default ±5 min,
 * as the reference libraries do). Used by the demo receiver; tests use the independent npm verifiers.
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
