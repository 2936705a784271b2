import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { SluiceError } from './errors.js';

// API keys (docs/api.md): `slk_<id>_<secret>`. The id names the key in the KV bucket, in logs and in
// `sluice keys ls`; only the SHA-256 of the whole key is stored, so a copy of the bucket lets nobody
// call the API. The secret has 256 bits: a fast hash is enough, there is nothing to brute-force.

/** What a key may do: `ingest` sends events, `read` reads state, `admin` may do everything. */
export type ApiKeyScope = 'ingest' | 'read' | 'admin';

/** Every scope, in the order `sluice keys create --scope` lists them. */
export const API_KEY_SCOPES: readonly ApiKeyScope[] = ['ingest', 'read', 'admin'];

/** The stored form of one API key: never the key itself. */
export interface ApiKeyRecord {
  /** 10 characters of lowercase base32: the part of the key between `slk_` and the next `_`. */
  readonly id: string;
  readonly scope: ApiKeyScope;
  /** A label for people (`billing-service`). */
  readonly name?: string;
  /** SHA-256 of the whole key, lowercase hex. */
  readonly hash: string;
  /** ISO 8601 time the key was created. */
  readonly createdAt: string;
  /** ISO 8601 time the key was revoked; a revoked key is refused. */
  readonly revokedAt?: string;
}

/** The prefix that makes a key recognisable in logs, configuration and secret scanners. */
export const API_KEY_PREFIX = 'slk_';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const ID_LENGTH = 10;
const KEY_RE = /^slk_([a-z2-7]{10})_([A-Za-z0-9_-]{43})$/;
const ID_RE = /^[a-z2-7]{10}$/;
const HASH_RE = /^[0-9a-f]{64}$/;
// Printable and bounded: a name is shown in tables and logs.
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const NAME_RE = /^[^\x00-\x1f\x7f]{1,100}$/;

/** A freshly generated key: `key` is shown once and never stored. */
export interface NewApiKey {
  readonly key: string;
  readonly record: ApiKeyRecord;
}

/** A key split into its parts, from {@link parseApiKey}. */
export interface ParsedApiKey {
  readonly id: string;
  readonly secret: string;
}

/** True when `id` has the shape of an API key id. */
export function isApiKeyId(id: string): boolean {
  return ID_RE.test(id);
}

/** True when `name` is acceptable as a key's label: 1–100 characters, no control characters. */
export function isApiKeyName(name: string): boolean {
  return NAME_RE.test(name);
}

/** Splits a key into id and secret, or `undefined` when it is not of the form `slk_<id>_<secret>`. */
export function parseApiKey(key: string): ParsedApiKey | undefined {
  const m = KEY_RE.exec(key);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

/** SHA-256 of the whole key, lowercase hex: what the bucket stores. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** True when `key` hashes to the record's hash; compares in constant time. */
export function keyMatches(key: string, record: Pick<ApiKeyRecord, 'hash'>): boolean {
  const want = Buffer.from(record.hash, 'hex');
  const got = createHash('sha256').update(key, 'utf8').digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** True when a key of scope `have` may call a route that needs `need`: same scope, or admin. */
export function scopeAllows(have: ApiKeyScope, need: ApiKeyScope): boolean {
  return have === 'admin' || have === need;
}

/**
 * The key from an `Authorization` header: `Bearer <key>`, or the bare key (MinIO's webhook target
 * sends its auth token as the whole header value). `undefined` when there is none.
 */
export function keyFromAuthorization(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  const bearer = /^bearer\s+(\S+)$/i.exec(value);
  if (bearer) return bearer[1];
  return /^\S+$/.test(value) ? value : undefined;
}

/** Generates a key of `scope`: 50 random bits of id, 256 of secret. */
export function generateApiKey(scope: ApiKeyScope, name: string | undefined, nowMs: number): NewApiKey {
  const idBytes = randomBytes(ID_LENGTH);
  const id = Array.from(idBytes, (b) => BASE32[b & 31]).join('');
  const key = `${API_KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
  return {
    key,
    record: {
      id,
      scope,
      ...(name !== undefined ? { name } : {}),
      hash: hashApiKey(key),
      createdAt: new Date(nowMs).toISOString(),
    },
  };
}

/** Serialises a record for the bucket. */
export function encodeApiKeyRecord(record: ApiKeyRecord): Uint8Array {
  return Buffer.from(JSON.stringify(record), 'utf8');
}

/**
 * Parses and checks a record from the bucket; `undefined` for anything malformed, so that a damaged
 * or foreign entry never authorises a request.
 */
export function decodeApiKeyRecord(bytes: Uint8Array): ApiKeyRecord | undefined {
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null) return undefined;
  const r = o as Record<string, unknown>;
  const ok =
    typeof r.id === 'string' &&
    ID_RE.test(r.id) &&
    API_KEY_SCOPES.includes(r.scope as ApiKeyScope) &&
    typeof r.hash === 'string' &&
    HASH_RE.test(r.hash) &&
    typeof r.createdAt === 'string' &&
    (r.name === undefined || typeof r.name === 'string') &&
    (r.revokedAt === undefined || typeof r.revokedAt === 'string');
  if (!ok) return undefined;
  return {
    id: r.id as string,
    scope: r.scope as ApiKeyScope,
    ...(r.name !== undefined ? { name: r.name as string } : {}),
    hash: r.hash as string,
    createdAt: r.createdAt as string,
    ...(r.revokedAt !== undefined ? { revokedAt: r.revokedAt as string } : {}),
  };
}

/** The API keys of a deployment, in its `<prefix>_apikeys` KV bucket (see `openApiKeys`). */
export class ApiKeyStore {
  readonly #kv: KV;

  constructor(kv: KV) {
    this.#kv = kv;
  }

  /**
   * Generates and stores a key; the returned `key` is the only copy.
   * @throws SluiceError `SLUICE_USAGE` for a name that is not 1–100 printable characters.
   */
  async create(scope: ApiKeyScope, name: string | undefined, nowMs: number): Promise<NewApiKey> {
    if (name !== undefined && !isApiKeyName(name))
      throw new SluiceError('SLUICE_USAGE', 'a key name is 1–100 characters without control characters');
    const created = generateApiKey(scope, name, nowMs);
    // create, not put: 50 random bits make a clash unlikely, and a clash must never replace a key.
    await this.#kv.create(created.record.id, encodeApiKeyRecord(created.record));
    return created;
  }

  /** The record of key `id`, revoked or not; `undefined` when there is none. */
  async get(id: string): Promise<ApiKeyRecord | undefined> {
    if (!isApiKeyId(id)) return undefined;
    const entry = await this.#kv.get(id);
    return entry?.operation === 'PUT' ? decodeApiKeyRecord(entry.value) : undefined;
  }

  /** Every key, oldest first. */
  async list(): Promise<ApiKeyRecord[]> {
    const records: ApiKeyRecord[] = [];
    for await (const id of await this.#kv.keys()) {
      const r = await this.get(id);
      if (r) records.push(r);
    }
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /**
   * Marks key `idOrKey` (its id, or the whole key) revoked (it stays listed, with the time). Revoking a revoked key keeps the first
   * time.
   * @throws SluiceError `SLUICE_API_KEY_NOT_FOUND`
   */
  async revoke(idOrKey: string, nowMs: number): Promise<ApiKeyRecord> {
    // A whole key (say, one found leaked) names its own id; it is never echoed back.
    const id = parseApiKey(idOrKey)?.id ?? idOrKey;
    const entry = isApiKeyId(id) ? await this.#kv.get(id) : null;
    const record = entry?.operation === 'PUT' ? decodeApiKeyRecord(entry.value) : undefined;
    if (!entry || !record) {
      const shown = isApiKeyId(id) ? `"${id}"` : 'of that form (ids are 10 characters, a-z and 2-7)';
      throw new SluiceError('SLUICE_API_KEY_NOT_FOUND', `no API key with id ${shown}`, {
        ...(isApiKeyId(id) ? { details: { keyId: id } } : {}),
      });
    }
    if (record.revokedAt !== undefined) return record;
    const revoked: ApiKeyRecord = { ...record, revokedAt: new Date(nowMs).toISOString() };
    await this.#kv.update(id, encodeApiKeyRecord(revoked), entry.revision);
    return revoked;
  }
}

const NEGATIVE_LIMIT = 10_000;
const NEGATIVE_TTL_MS = 1_000;

/**
 * The keys of a bucket held in memory and kept current by a KV watch, so that the API server checks
 * a key without a round trip and a revoke takes effect within the watch's latency (milliseconds).
 * An id the cache does not know is looked up once (a key created a moment ago); misses are remembered
 * for a second so that a flood of unknown ids does not become a flood of KV reads.
 */
export class ApiKeyCache {
  readonly #kv: KV;
  readonly #records = new Map<string, ApiKeyRecord>();
  readonly #misses = new Map<string, number>();
  #watch: Awaited<ReturnType<KV['watch']>> | undefined;
  #loop: Promise<void> | undefined;
  #live = true;

  private constructor(kv: KV) {
    this.#kv = kv;
  }

  /**
   * Starts watching `kv`. Keys arrive shortly after; until then {@link lookup} reads the bucket, so
   * the answer is the same, only slower.
   */
  static async start(kv: KV, onError?: (err: unknown) => void): Promise<ApiKeyCache> {
    const cache = new ApiKeyCache(kv);
    const watch = await kv.watch();
    cache.#watch = watch;
    cache.#loop = (async () => {
      for await (const e of watch) cache.#apply(e.key, e.operation === 'PUT' ? e.value : undefined);
    })()
      .catch((err: unknown) => onError?.(err))
      .finally(() => {
        // Without the watch a revoke would go unnoticed: from now on every lookup reads the bucket.
        cache.#live = false;
        cache.#records.clear();
      });
    return cache;
  }

  #apply(id: string, value: Uint8Array | undefined): void {
    const r = value === undefined ? undefined : decodeApiKeyRecord(value);
    if (r && r.id === id) this.#records.set(id, r);
    else this.#records.delete(id);
    this.#misses.delete(id);
  }

  /** The record of key `id`, or `undefined` when the bucket has none. */
  async lookup(id: string, nowMs: number): Promise<ApiKeyRecord | undefined> {
    const known = this.#records.get(id);
    if (known) return known;
    if (!isApiKeyId(id)) return undefined;
    if (!this.#live) return this.#read(id);
    const missedAt = this.#misses.get(id);
    if (missedAt !== undefined && nowMs - missedAt < NEGATIVE_TTL_MS) return undefined;
    const record = await this.#read(id);
    if (record && this.#live) {
      // The watch may already hold a newer revision (a revoke); never replace it with this read.
      if (!this.#records.has(id)) this.#records.set(id, record);
      return this.#records.get(id);
    }
    if (record) return record;
    if (this.#misses.size >= NEGATIVE_LIMIT) this.#misses.clear();
    this.#misses.set(id, nowMs);
    return undefined;
  }

  async #read(id: string): Promise<ApiKeyRecord | undefined> {
    const entry = await this.#kv.get(id);
    const record = entry?.operation === 'PUT' ? decodeApiKeyRecord(entry.value) : undefined;
    return record?.id === id ? record : undefined;
  }

  /** Keys currently held. */
  get size(): number {
    return this.#records.size;
  }

  /** Stops the watch. */
  async stop(): Promise<void> {
    this.#watch?.stop();
    await this.#loop;
  }
}
