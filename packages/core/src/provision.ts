import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { s3Sources, type Config, type NatsConfig } from './config-schema.js';
import { SluiceError } from './errors.js';
import {
  notProvisioned,
  openApiKeys,
  openBackfill,
  openCheckpoints,
  openEndpointHealth,
  openIdempotency,
  openLeases,
  openRateLimits,
  openSecrets,
} from './kv-buckets.js';
import {
  attemptsStream,
  attemptsStreamSubjects,
  deliveriesStream,
  deliveriesStreamSubjects,
  dlqStream,
  dlqStreamSubjects,
  notificationsConsumer,
  notificationsStream,
  oversizeBucket,
  eventsStream,
  eventsStreamSubjects,
  retriesStream,
  retriesStreamSubjects,
} from './names.js';

const NS_PER_MS = 1_000_000;

/** The stream configurations sluice owns, derived from the `nats` config section. */
export function streamConfigs(config: NatsConfig): (Partial<StreamConfig> & { name: string })[] {
  const common = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: config.replicas,
    duplicate_window: config.duplicateWindowMs * NS_PER_MS,
  };
  return [
    {
      ...common,
      name: eventsStream(config),
      subjects: eventsStreamSubjects(config),
      max_age: config.eventsMaxAgeMs * NS_PER_MS,
      max_bytes: config.eventsMaxBytes,
      description: 'sluice: every captured event, subject <prefix>.events.<partition>.<type>',
    },
    {
      ...common,
      name: deliveriesStream(config),
      subjects: deliveriesStreamSubjects(config),
      max_age: config.deliveriesMaxAgeMs * NS_PER_MS,
      max_bytes: config.deliveriesMaxBytes,
      description:
        'sluice: one message per (event, subscription), subject <prefix>.deliveries.<endpoint>.<partition>',
    },
    {
      ...common,
      name: retriesStream(config),
      subjects: retriesStreamSubjects(config),
      max_age: config.retriesMaxAgeMs * NS_PER_MS,
      max_bytes: -1,
      description:
        'sluice: deliveries waiting for their next attempt, subject <prefix>.retries.<endpoint>.<partition>',
    },
    {
      ...common,
      name: dlqStream(config),
      subjects: dlqStreamSubjects(config),
      max_age: config.dlqMaxAgeMs * NS_PER_MS,
      max_bytes: config.dlqMaxBytes,
      description: 'sluice: dead-lettered deliveries, subject <prefix>.dlq.<endpoint>.<partition>',
    },
    {
      ...common,
      name: attemptsStream(config),
      subjects: attemptsStreamSubjects(config),
      max_age: config.attemptsMaxAgeMs * NS_PER_MS,
      max_bytes: config.attemptsMaxBytes,
      description: 'sluice: one record per delivery attempt, subject <prefix>.attempts.<endpoint>.<event id>',
    },
  ];
}

/**
 * Creates sluice's streams, or updates them when the managed settings changed. Safe to call from
 * every process at every start; concurrent callers converge on the same configuration.
 * @throws SluiceError `SLUICE_NATS_PROVISION`
 */
export async function provisionStreams(jsm: JetStreamManager, config: NatsConfig): Promise<void> {
  for (const wanted of streamConfigs(config)) {
    const name = wanted.name;
    try {
      const existing = await jsm.streams.info(name).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      if (!existing) {
        await jsm.streams.add(wanted).catch(async (err: unknown) => {
          // Another process created it between our info and add: fall through to the update check.
          if (!String((err as Error).message).includes('already in use')) throw err;
        });
        continue;
      }
      const c = existing.config;
      const same =
        c.max_age === wanted.max_age &&
        c.max_bytes === wanted.max_bytes &&
        c.duplicate_window === wanted.duplicate_window &&
        JSON.stringify(c.subjects) === JSON.stringify(wanted.subjects);
      if (!same) await jsm.streams.update(name, { ...c, ...wanted } as StreamConfig);
    } catch (cause) {
      throw new SluiceError(
        'SLUICE_NATS_PROVISION',
        `cannot provision stream ${name}: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
}

/** Where one s3 source's notifications arrive over NATS, and how its durable consumer hands them out. */
export interface NotificationsSpec {
  readonly sourceId: string;
  /** The subject MinIO's NATS target publishes to (`sources[].nats.subject`). */
  readonly subject: string;
  /** Notifications handed out and not yet acknowledged, at most. */
  readonly maxAckPending: number;
  /** How long a handed-out notification may stay unacknowledged before redelivery, ms. */
  readonly ackWaitMs: number;
}

/**
 * Creates (or brings up to date) the stream that keeps one s3 source's notifications —
 * `SLUICE_NOTIFICATIONS_<source>` capturing `spec.subject` — and its durable pull consumer
 * (`capture-notifications`, unfiltered: the stream holds nothing else). Notifications published while
 * no capture process runs wait in the stream for up to `nats.eventsMaxAgeMs`. Idempotent.
 * @returns the stream name.
 * @throws SluiceError `SLUICE_NATS_PROVISION`, e.g. when the subject overlaps another stream's.
 */
export async function provisionNotifications(
  jsm: JetStreamManager,
  config: NatsConfig,
  spec: NotificationsSpec,
): Promise<string> {
  const wanted = notificationsStreamConfig(config, spec.sourceId, spec.subject);
  const name = wanted.name;
  const durable = notificationsConsumer();
  const consumer = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: spec.maxAckPending,
    ack_wait: spec.ackWaitMs * NS_PER_MS,
  };
  try {
    const existing = await jsm.streams.info(name).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (!config.provision) {
      // Looked up only (docs/nats-security.md): the consumer below is still this role's to create.
      if (!existing) throw new Error(notProvisioned(`stream ${name}`));
    } else if (!existing) {
      await jsm.streams.add(wanted).catch((err: unknown) => {
        if (!String((err as Error).message).includes('already in use')) throw err;
      });
    } else {
      const c = existing.config;
      const same =
        c.max_age === wanted.max_age &&
        c.max_bytes === wanted.max_bytes &&
        JSON.stringify(c.subjects) === JSON.stringify(wanted.subjects);
      if (!same) await jsm.streams.update(name, { ...c, ...wanted } as StreamConfig);
    }
    const info = await jsm.consumers.info(name, durable).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (!info) await jsm.consumers.add(name, consumer);
    else if (
      info.config.max_ack_pending !== consumer.max_ack_pending ||
      info.config.ack_wait !== consumer.ack_wait
    )
      await jsm.consumers.update(name, durable, {
        max_ack_pending: consumer.max_ack_pending,
        ack_wait: consumer.ack_wait,
      });
  } catch (cause) {
    throw new SluiceError(
      'SLUICE_NATS_PROVISION',
      `cannot provision the notifications stream ${name} on ${spec.subject}: ${(cause as Error).message}`,
      { cause, details: { sourceId: spec.sourceId, subject: spec.subject } },
    );
  }
  return name;
}

/**
 * Everything sluice keeps in JetStream whose settings come from the configuration alone: the five
 * streams, every KV bucket, the oversize object store, and the notifications stream of each s3 source
 * with a NATS subject. Run by a process with `nats.provision: true` (the default) before its roles
 * start, so that one run as a user allowed to create streams provisions a deployment whose role users
 * are not (docs/nats-security.md). Consumers are left to the roles that read them. Idempotent.
 * @throws SluiceError `SLUICE_NATS_PROVISION`
 */
export async function provisionAll(
  nc: NatsConnection,
  jsm: JetStreamManager,
  config: Pick<Config, 'nats' | 'api' | 'sources'>,
): Promise<void> {
  try {
    await provisionEverything(nc, jsm, config);
  } catch (err) {
    if (!(err instanceof SluiceError) || !/permissions violation/i.test(err.message)) throw err;
    throw new SluiceError(
      'SLUICE_NATS_PROVISION',
      `${err.message}; a NATS user that may not create streams runs with nats.provision: false (docs/nats-security.md#provisioning)`,
      { cause: err.cause, ...(err.details ? { details: err.details } : {}) },
    );
  }
}

async function provisionEverything(
  nc: NatsConnection,
  jsm: JetStreamManager,
  config: Pick<Config, 'nats' | 'api' | 'sources'>,
): Promise<void> {
  const nats = config.nats;
  await provisionStreams(jsm, nats);
  for (const open of [
    openCheckpoints,
    openLeases,
    openEndpointHealth,
    openBackfill,
    openRateLimits,
    openApiKeys,
    openSecrets,
  ])
    await open(nc, nats);
  await openIdempotency(nc, nats, config.api.idempotencyTtlMs);
  await provisionOversizeStore(jsm, nats);
  for (const source of s3Sources(config))
    if (source.nats !== undefined)
      await provisionNotificationsStream(jsm, nats, source.id, source.nats.subject);
}

// The stream an object store is (what @nats-io/obj creates for `Objm.create`), with the settings
// capture's oversize store asks for: the store then opens it as it is.
async function provisionOversizeStore(jsm: JetStreamManager, config: NatsConfig): Promise<void> {
  const bucket = oversizeBucket(config);
  await createStreamIfMissing(jsm, {
    name: `OBJ_${bucket}`,
    subjects: [`$O.${bucket}.C.>`, `$O.${bucket}.M.>`],
    storage: StorageType.File,
    num_replicas: config.replicas,
    max_age: config.eventsMaxAgeMs * NS_PER_MS,
    discard: DiscardPolicy.New,
    allow_direct: true,
    allow_rollup_hdrs: true,
    description: 'sluice: events larger than max_payload, by event id',
  });
}

async function provisionNotificationsStream(
  jsm: JetStreamManager,
  config: NatsConfig,
  sourceId: string,
  subject: string,
): Promise<void> {
  await createStreamIfMissing(jsm, notificationsStreamConfig(config, sourceId, subject));
}

/** The stream keeping one s3 source's notifications, as both provisioning paths create it. */
function notificationsStreamConfig(
  config: NatsConfig,
  sourceId: string,
  subject: string,
): Partial<StreamConfig> & { name: string } {
  return {
    name: notificationsStream(config, sourceId),
    subjects: [subject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: config.replicas,
    max_age: config.eventsMaxAgeMs * NS_PER_MS,
    max_bytes: config.eventsMaxBytes,
    duplicate_window: config.duplicateWindowMs * NS_PER_MS,
    description: `sluice: object-store notifications of source ${sourceId}, published by the store to ${subject}`,
  };
}

async function createStreamIfMissing(
  jsm: JetStreamManager,
  wanted: Partial<StreamConfig> & { name: string },
): Promise<void> {
  try {
    const existing = await jsm.streams.info(wanted.name).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (!existing)
      await jsm.streams.add(wanted).catch((err: unknown) => {
        if (!String((err as Error).message).includes('already in use')) throw err;
      });
  } catch (cause) {
    throw new SluiceError(
      'SLUICE_NATS_PROVISION',
      `cannot provision stream ${wanted.name}: ${(cause as Error).message}`,
      { cause },
    );
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; message?: string; api_error?: { err_code?: number } };
  return e?.api_error?.err_code === 10059 || /not found/i.test(String(e?.message));
}

/** Settings of a durable pull consumer sluice creates. */
export interface DurableSpec {
  readonly stream: string;
  readonly durable: string;
  readonly filterSubject: string;
  /** Unacknowledged messages the server hands out at most. */
  readonly maxAckPending: number;
  /** How long a delivered message may stay unacknowledged before redelivery, ms. */
  readonly ackWaitMs: number;
}

/**
 * Creates a durable pull consumer with explicit acks, or updates the settings that may change
 * (max_ack_pending, ack_wait) on an existing one. Idempotent; safe from several processes.
 * @throws SluiceError `SLUICE_NATS_PROVISION`
 */
export async function ensureDurable(jsm: JetStreamManager, spec: DurableSpec): Promise<void> {
  const config = {
    durable_name: spec.durable,
    filter_subject: spec.filterSubject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: spec.maxAckPending,
    ack_wait: spec.ackWaitMs * NS_PER_MS,
  };
  try {
    const existing = await jsm.consumers.info(spec.stream, spec.durable).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (!existing) {
      await jsm.consumers.add(spec.stream, config);
    } else if (
      existing.config.max_ack_pending !== config.max_ack_pending ||
      existing.config.ack_wait !== config.ack_wait
    ) {
      await jsm.consumers.update(spec.stream, spec.durable, {
        max_ack_pending: config.max_ack_pending,
        ack_wait: config.ack_wait,
      });
    }
  } catch (cause) {
    throw new SluiceError(
      'SLUICE_NATS_PROVISION',
      `cannot provision consumer ${spec.durable} on ${spec.stream}: ${(cause as Error).message}`,
      { cause },
    );
  }
}
