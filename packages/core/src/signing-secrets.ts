import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { SluiceError } from './errors.js';
import { isSealedSecret, type MainKey, type SealedSecret } from './secret-box.js';

// Signing secrets sluice manages (docs/signing.md): one record per endpoint in the `<prefix>_secrets`
// KV bucket, every secret in it sealed with the main key and bound to its endpoint and kind. Writes
// are compare-and-set (create / update by revision), so two deliverers that start at once, or a
// rotation racing a start, agree on one record instead of overwriting each other's secrets.

/** Prefix of an HMAC signing secret (Standard Webhooks). */
export const HMAC_SECRET_PREFIX = 'whsec_';
/** Prefix of an ed25519 public key (Standard Webhooks `v1a`). */
export const ED25519_PUBLIC_PREFIX = 'whpk_';
/** Prefix of an ed25519 private key (Standard Webhooks `v1a`): the base64 of its 32-byte seed. */
export const ED25519_PRIVATE_PREFIX = 'whsk_';

/** Bytes of a generated HMAC secret. */
const HMAC_SECRET_BYTES = 32;
/** Most secrets of one kind kept at once: rotations within one overlap beyond this drop the oldest. */
export const MAX_SECRETS_PER_KIND = 8;
const CAS_ATTEMPTS = 8;
// PKCS#8 DER of an ed25519 private key is this fixed prefix followed by the 32-byte seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Which kinds of secret an endpoint signs with. */
export interface SecretKinds {
  /** A `whsec_` HMAC secret (`v1` signatures). */
  readonly hmac: boolean;
  /** An ed25519 key pair (`v1a` signatures). */
  readonly ed25519: boolean;
}

/** One HMAC secret of an endpoint, opened. */
export interface HmacSecret {
  /** `whsec_` + base64 of the key bytes. */
  readonly secret: string;
  /** The HMAC key: the decoded bytes. */
  readonly key: Buffer;
  readonly createdAtMs: number;
  /** After this time (ms since the epoch) nothing is signed with it; absent: no expiry. */
  readonly expiresAtMs?: number;
}

/** One ed25519 key pair of an endpoint, opened. */
export interface Ed25519Secret {
  /** `whsk_` + base64 of the 32-byte seed. */
  readonly privateKey: string;
  /** The 32-byte seed (RFC 8032 private key). */
  readonly seed: Buffer;
  /** `whpk_` + base64 of the 32-byte public key: what receivers verify with. */
  readonly publicKey: string;
  readonly createdAtMs: number;
  readonly expiresAtMs?: number;
}

/** The opened secrets of one endpoint, newest first within each kind. Never log one. */
export interface EndpointSecrets {
  readonly endpointId: string;
  readonly hmac: readonly HmacSecret[];
  readonly ed25519: readonly Ed25519Secret[];
  /** KV revision of the record they came from. */
  readonly revision: number;
}

interface StoredEntry {
  readonly createdAt: string;
  readonly expiresAt?: string;
  readonly sealed: SealedSecret;
}

interface StoredKeyPair extends StoredEntry {
  readonly publicKey: string;
}

/** The stored record: only sealed secrets and public keys. */
interface StoredRecord {
  readonly v: 1;
  readonly endpointId: string;
  readonly hmac: readonly StoredEntry[];
  readonly ed25519: readonly StoredKeyPair[];
}

const aad = (endpointId: string, kind: 'whsec' | 'whsk'): string => `sluice:${endpointId}:${kind}`;

/** The public key of an ed25519 seed, as raw 32 bytes. */
export function ed25519PublicKey(seed: Uint8Array): Buffer {
  const priv = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const jwk = createPublicKey(priv).export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url');
}

/** The PKCS#8 DER encoding of an ed25519 seed, which `crypto.createPrivateKey` reads. */
export function ed25519Pkcs8(seed: Uint8Array): Buffer {
  return Buffer.concat([ED25519_PKCS8_PREFIX, seed]);
}

function newHmacEntry(mainKey: MainKey, endpointId: string, nowMs: number): StoredEntry {
  return {
    createdAt: new Date(nowMs).toISOString(),
    sealed: mainKey.seal(randomBytes(HMAC_SECRET_BYTES), aad(endpointId, 'whsec')),
  };
}

function newKeyPairEntry(mainKey: MainKey, endpointId: string, nowMs: number): StoredKeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  return {
    createdAt: new Date(nowMs).toISOString(),
    publicKey: ED25519_PUBLIC_PREFIX + Buffer.from(jwk.x!, 'base64url').toString('base64'),
    sealed: mainKey.seal(seed, aad(endpointId, 'whsk')),
  };
}

/**
 * Parses a stored record. Anything malformed is an error, never "no secrets": a damaged record must
 * stop the deliverer rather than let it sign with nothing or generate a secret receivers do not know.
 * @throws SluiceError `SLUICE_SECRET_UNREADABLE`
 */
function decodeRecord(endpointId: string, bytes: Uint8Array): StoredRecord {
  const bad = (why: string): SluiceError =>
    new SluiceError(
      'SLUICE_SECRET_UNREADABLE',
      `the secrets record of endpoint ${endpointId} is damaged: ${why}`,
      { details: { endpointId } },
    );
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  const r = o as Partial<StoredRecord> | null;
  if (typeof r !== 'object' || r === null || r.v !== 1) throw bad('unknown format');
  if (r.endpointId !== endpointId) throw bad(`it belongs to endpoint ${String(r.endpointId)}`);
  const entryOk = (e: unknown): boolean => {
    const x = e as Partial<StoredKeyPair> | null;
    return (
      typeof x === 'object' &&
      x !== null &&
      typeof x.createdAt === 'string' &&
      (x.expiresAt === undefined || typeof x.expiresAt === 'string') &&
      isSealedSecret(x.sealed)
    );
  };
  if (!Array.isArray(r.hmac) || !r.hmac.every(entryOk)) throw bad('malformed hmac entries');
  if (
    !Array.isArray(r.ed25519) ||
    !r.ed25519.every((e) => entryOk(e) && typeof (e as Partial<StoredKeyPair>).publicKey === 'string')
  )
    throw bad('malformed ed25519 entries');
  return r as StoredRecord;
}

function encodeRecord(r: StoredRecord): Uint8Array {
  return Buffer.from(JSON.stringify(r), 'utf8');
}

const timeOf = (iso: string | undefined): number | undefined =>
  iso === undefined ? undefined : Date.parse(iso);

/**
 * Opens every secret of a stored record with the main key.
 * @throws SluiceError `SLUICE_SECRET_UNREADABLE` for a wrong main key or a damaged record.
 */
export function openSecretsRecord(
  mainKey: MainKey,
  endpointId: string,
  bytes: Uint8Array,
  revision: number,
): EndpointSecrets {
  const r = decodeRecord(endpointId, bytes);
  const what = `a signing secret of endpoint ${endpointId}`;
  const hmac = r.hmac.map((e): HmacSecret => {
    const key = mainKey.open(e.sealed, aad(endpointId, 'whsec'), what);
    const expiresAtMs = timeOf(e.expiresAt);
    return {
      secret: HMAC_SECRET_PREFIX + key.toString('base64'),
      key,
      createdAtMs: Date.parse(e.createdAt),
      ...(expiresAtMs !== undefined ? { expiresAtMs } : {}),
    };
  });
  const ed25519 = r.ed25519.map((e): Ed25519Secret => {
    const seed = mainKey.open(e.sealed, aad(endpointId, 'whsk'), what);
    const publicKey = ED25519_PUBLIC_PREFIX + ed25519PublicKey(seed).toString('base64');
    // The public key is stored in the clear for people reading the bucket; the sealed seed is what
    // counts, and a public key that does not belong to it means the record was changed.
    if (publicKey !== e.publicKey)
      throw new SluiceError(
        'SLUICE_SECRET_UNREADABLE',
        `the secrets record of endpoint ${endpointId} is damaged: a public key does not match its private key`,
        { details: { endpointId } },
      );
    const expiresAtMs = timeOf(e.expiresAt);
    return {
      privateKey: ED25519_PRIVATE_PREFIX + seed.toString('base64'),
      seed,
      publicKey,
      createdAtMs: Date.parse(e.createdAt),
      ...(expiresAtMs !== undefined ? { expiresAtMs } : {}),
    };
  });
  return hidden({ endpointId, hmac, ed25519, revision });
}

// A non-enumerable toJSON: an EndpointSecrets passed to a logger by mistake shows no secret.
function hidden(s: EndpointSecrets): EndpointSecrets {
  return Object.defineProperty(s, 'toJSON', {
    value: () => ({ endpointId: s.endpointId, hmac: s.hmac.length, ed25519: s.ed25519.length }),
    enumerable: false,
  });
}

function isConflict(err: unknown): boolean {
  return /wrong last sequence|key exists/i.test(String((err as Error)?.message));
}

/**
 * The managed signing secrets of a deployment, in its `<prefix>_secrets` KV bucket (see
 * `openSecrets`), sealed with one main key.
 */
export class SigningSecretStore {
  readonly #kv: KV;
  readonly #mainKey: MainKey;

  constructor(kv: KV, mainKey: MainKey) {
    this.#kv = kv;
    this.#mainKey = mainKey;
  }

  /**
   * The secrets of endpoint `endpointId`, or `undefined` when none were made yet.
   * @throws SluiceError `SLUICE_SECRET_UNREADABLE`
   */
  async get(endpointId: string): Promise<EndpointSecrets | undefined> {
    const entry = await this.#kv.get(endpointId);
    if (entry?.operation !== 'PUT') return undefined;
    return openSecretsRecord(this.#mainKey, endpointId, entry.value, entry.revision);
  }

  /**
   * The secrets of endpoint `endpointId`, generating (and storing) those of the `kinds` it lacks.
   * Concurrent callers get the same secrets: the first write wins and the others read it.
   * @throws SluiceError `SLUICE_SECRET_UNREADABLE`
   */
  async ensure(endpointId: string, kinds: SecretKinds, nowMs: number): Promise<EndpointSecrets> {
    return this.#change(endpointId, (current) => {
      const hmac = current?.hmac ?? [];
      const ed25519 = current?.ed25519 ?? [];
      const needHmac = kinds.hmac && hmac.length === 0;
      const needPair = kinds.ed25519 && ed25519.length === 0;
      if (current && !needHmac && !needPair) return undefined;
      return {
        v: 1,
        endpointId,
        hmac: needHmac ? [newHmacEntry(this.#mainKey, endpointId, nowMs)] : hmac,
        ed25519: needPair ? [newKeyPairEntry(this.#mainKey, endpointId, nowMs)] : ed25519,
      };
    });
  }

  /**
   * Puts a new secret first for each of `kinds` (and for each kind the record already holds), and
   * gives every older one that has not expired an expiry of `nowMs + overlapMs` (keeping an earlier
   * one). Expired secrets are dropped, and at most {@link MAX_SECRETS_PER_KIND} are kept per kind.
   * @throws SluiceError `SLUICE_SECRET_UNREADABLE`
   */
  async rotate(
    endpointId: string,
    kinds: SecretKinds,
    overlapMs: number,
    nowMs: number,
  ): Promise<EndpointSecrets> {
    const until = nowMs + overlapMs;
    // An overlap of 0 expires the old secrets now: they are dropped at once.
    const age = <T extends StoredEntry>(entries: readonly T[]): T[] =>
      entries.flatMap((e) => {
        const expires = Math.min(timeOf(e.expiresAt) ?? until, until);
        return expires > nowMs ? [{ ...e, expiresAt: new Date(expires).toISOString() }] : [];
      });
    return this.#change(endpointId, (current) => {
      const hmac = current?.hmac ?? [];
      const ed25519 = current?.ed25519 ?? [];
      const keep = MAX_SECRETS_PER_KIND - 1;
      return {
        v: 1,
        endpointId,
        hmac:
          kinds.hmac || hmac.length > 0
            ? [newHmacEntry(this.#mainKey, endpointId, nowMs), ...age(hmac).slice(0, keep)]
            : [],
        ed25519:
          kinds.ed25519 || ed25519.length > 0
            ? [newKeyPairEntry(this.#mainKey, endpointId, nowMs), ...age(ed25519).slice(0, keep)]
            : [],
      };
    });
  }

  /**
   * Read, change, compare-and-set, again on a conflict. `change` returns the record to write, or
   * `undefined` to keep the current one. Existing secrets are opened before anything is written, so
   * that a wrong main key never writes a record sealed with two different keys.
   */
  async #change(
    endpointId: string,
    change: (current: StoredRecord | undefined) => StoredRecord | undefined,
  ): Promise<EndpointSecrets> {
    for (let attempt = 1; ; attempt++) {
      const entry = await this.#kv.get(endpointId);
      const exists = entry?.operation === 'PUT';
      if (exists) openSecretsRecord(this.#mainKey, endpointId, entry.value, entry.revision);
      const current = exists ? decodeRecord(endpointId, entry.value) : undefined;
      const next = change(current);
      if (!next) return openSecretsRecord(this.#mainKey, endpointId, entry!.value, entry!.revision);
      const bytes = encodeRecord(next);
      try {
        const revision = exists
          ? await this.#kv.update(endpointId, bytes, entry.revision)
          : await this.#kv.create(endpointId, bytes);
        return openSecretsRecord(this.#mainKey, endpointId, bytes, revision);
      } catch (err) {
        if (!isConflict(err) || attempt >= CAS_ATTEMPTS) throw err;
      }
    }
  }
}
