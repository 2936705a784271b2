// The events stream the raw JetStream loops publish to and consume from: provisioned by core exactly
// as sluice provisions it (file storage, limits retention, duplicate window), with capture's subject
// layout and a Nats-Msg-Id on every message.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import {
  buildConfig,
  eventsStream,
  eventsStreamSubjects,
  eventSubject,
  provisionStreams,
  type AckWindowPublisher,
  type NatsConfig,
} from '@sluice/core';
import { cdcEvent500 } from '../payloads.js';

const EVENT_TYPE = 'mysql.bench.orders.insert';
// Distinct payloads cycled through: building a 500 B JSON event costs a few µs, which is capture's
// cost, not the broker's; the loops measure moving bytes.
const PAYLOAD_RING = 1024;

/** A connection and sluice's streams on a bench nats-server. */
export interface BenchStream {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly nats: NatsConfig;
  readonly stream: string;
  /** One subject per partition, `sluice.events.<p>.mysql.bench.orders.insert`. */
  readonly subjects: readonly string[];
  /** Filter matching every event subject. */
  readonly filter: string;
}

/** Connects to `url` and provisions sluice's streams with the default `nats` settings. */
export async function openBenchStream(url: string): Promise<BenchStream> {
  const config = buildConfig(JSON.stringify({ nats: { url } }), {}, 'bench');
  const nc = await connect({ servers: url, name: 'bench-client' });
  const jsm = await jetstreamManager(nc);
  await provisionStreams(jsm, config.nats);
  const subjects = Array.from({ length: config.nats.partitions }, (_, p) =>
    eventSubject(config.nats, p, EVENT_TYPE),
  );
  return {
    nc,
    jsm,
    nats: config.nats,
    stream: eventsStream(config.nats),
    subjects,
    filter: eventsStreamSubjects(config.nats)[0]!,
  };
}

let payloads: Buffer[] | undefined;

/** Message `i`'s id: the same length as a CDC event id (`evt_` + 32 hex). */
export function benchMsgId(i: number): string {
  return `evt_${i.toString(16).padStart(32, '0')}`;
}

/**
 * Publishes messages `first … first+count-1` through `pub`, never more than its window awaiting
 * acks, until done or `running()` turns false; resolves once every publish was acknowledged.
 * Partitions are taken round-robin (capture hashes the primary key; the spread is what matters).
 * @returns messages sent.
 */
export async function publishEvents(
  s: BenchStream,
  pub: AckWindowPublisher,
  o: { first: number; count: number; running?: () => boolean; onAck?: () => void },
): Promise<number> {
  payloads ??= Array.from({ length: PAYLOAD_RING }, (_, i) => cdcEvent500(i));
  const ring = payloads;
  let failure: unknown;
  const fail = (err: unknown): void => {
    failure ??= err;
  };
  const onAck = o.onAck ?? (() => undefined);
  const end = o.first + o.count;
  let i = o.first;
  while (i < end && failure === undefined && (o.running?.() ?? true)) {
    if (pub.full) await pub.room();
    pub.publish(s.subjects[i % s.subjects.length]!, ring[i % PAYLOAD_RING]!, benchMsgId(i)).then(onAck, fail);
    i++;
  }
  await pub.drain();
  if (failure !== undefined) throw failure;
  return i - o.first;
}
