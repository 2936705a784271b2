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
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConfig } from './config-schema.js';
import { SluiceError } from './errors.js';
import {
  checkpointsBucket,
  deliveriesStream,
  deliveriesStreamSubjects,
  eventsStream,
  eventsStreamSubjects,
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

/** Opens (creating when missing) the KV bucket holding capture checkpoints. */
export async function openCheckpoints(nc: NatsConnection, config: NatsConfig): Promise<KV> {
  const name = checkpointsBucket(config);
  try {
    return await new Kvm(nc).create(name, {
      history: 5,
      replicas: config.replicas,
      storage: StorageType.File,
    });
  } catch (cause) {
    throw new SluiceError(
      'SLUICE_NATS_PROVISION',
      `cannot open KV bucket ${name}: ${(cause as Error).message}`,
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
