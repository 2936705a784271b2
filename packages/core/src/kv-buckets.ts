import type { NatsConnection } from '@nats-io/transport-node';
import { StorageType, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConfig } from './config-schema.js';
import { SluiceError } from './errors.js';
import {
  apiKeysBucket,
  backfillBucket,
  checkpointsBucket,
  endpointsBucket,
  idempotencyBucket,
  leasesBucket,
  rateLimitBucket,
  secretsBucket,
} from './names.js';

// The KV buckets sluice keeps, one opener each (created when missing unless nats.provision is false).

const NS_PER_MS = 1_000_000;

/** Opens (creating when missing) the KV bucket holding capture checkpoints. */
export function openCheckpoints(nc: NatsConnection, config: NatsConfig): Promise<KV> {
  return openBucket(nc, config, checkpointsBucket(config), { history: 5 });
}

/** Opens (creating when missing) the KV bucket holding endpoint health (decision 0007). */
export function openEndpointHealth(nc: NatsConnection, config: NatsConfig): Promise<KV> {
  return openBucket(nc, config, endpointsBucket(config), { history: 5 });
}

/** Opens (creating when missing) the KV bucket of capture leases (decision 0008-capture-lease). */
export function openLeases(nc: NatsConnection, config: NatsConfig): Promise<KV> {
  return openBucket(nc, config, leasesBucket(config), { history: 1 });
}

/** Opens (creating when missing) the KV bucket of backfill progress (docs/decisions/0011-backfill.md). */
export function openBackfill(nc: NatsConnection, config: NatsConfig): Promise<KV> {
  return openBucket(nc, config, backfillBucket(config), { history: 5 });
}

/**
 * Opens (creating when missing) the KV bucket of rate-limit token counts. Keys are per second and die
 * with the bucket's max age: nats-server 2.9 ignores per-key TTLs (docs/architecture.md, "Facts the
 * design relies on").
 */
export function openRateLimits(nc: NatsConnection, config: NatsConfig): Promise<KV> {
  return openBucket(nc, config, rateLimitBucket(config), { history: 1, ttl: 60_000 });
}

/** Opens (creating when missing) the KV bucket of API keys, one entry per key id (docs/api.md). */
export function openApiKeys(nc: NatsConnection, config: NatsConfig): Promise<KV> {
  return openBucket(nc, config, apiKeysBucket(config), { history: 1 });
}

/**
 * Opens (creating when missing) the KV bucket of managed signing secrets, one sealed record per
 * endpoint (docs/signing.md). History 1: a replaced record (a rotation's expired secrets) is not kept.
 */
export function openSecrets(nc: NatsConnection, config: NatsConfig): Promise<KV> {
  return openBucket(nc, config, secretsBucket(config), { history: 1 });
}

/**
 * Opens (creating when missing) the KV bucket remembering ingested event ids for `ttlMs`, and brings
 * an existing bucket's max age to `ttlMs`. The bucket's max age is the expiry: nats-server 2.9
 * ignores per-key TTLs (docs/architecture.md, "Facts the design relies on").
 * @throws SluiceError `SLUICE_NATS_PROVISION`
 */
export async function openIdempotency(nc: NatsConnection, config: NatsConfig, ttlMs: number): Promise<KV> {
  const name = idempotencyBucket(config);
  const kv = await openBucket(nc, config, name, { history: 1, ttl: ttlMs });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`KV_${name}`);
    if (config.provision && info.config.max_age !== ttlMs * NS_PER_MS)
      await jsm.streams.update(`KV_${name}`, { ...info.config, max_age: ttlMs * NS_PER_MS });
  } catch (cause) {
    throw new SluiceError(
      'SLUICE_NATS_PROVISION',
      `cannot set the max age of KV bucket ${name}: ${(cause as Error).message}`,
      { cause },
    );
  }
  return kv;
}

async function openBucket(
  nc: NatsConnection,
  config: NatsConfig,
  name: string,
  options: { history: number; ttl?: number },
): Promise<KV> {
  try {
    return await new Kvm(nc).create(name, {
      ...options,
      replicas: config.replicas,
      storage: StorageType.File,
    });
  } catch (cause) {
    const hint = config.provision ? '' : `; ${notProvisioned(`KV bucket ${name}`)}`;
    throw new SluiceError(
      'SLUICE_NATS_PROVISION',
      `cannot open KV bucket ${name}: ${(cause as Error).message}${hint}`,
      { cause },
    );
  }
}

export function notProvisioned(what: string): string {
  return `${what} must exist: nats.provision is false, so sluice does not create it; provision once as a user allowed to (docs/nats-security.md#provisioning)`;
}
