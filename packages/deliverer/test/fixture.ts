import { randomBytes } from 'node:crypto';
import {
  jetstream,
  jetstreamManager,
  type ConsumerInfo,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckWindowPublisher,
  DeliveryHeaders,
  attemptsFilter,
  attemptsStream,
  buildConfig,
  createLogger,
  decodeEvent,
  deliveriesStream,
  dlqEndpointFilter,
  dlqStream,
  endpointConsumer,
  eventSubject,
  eventsStream,
  openEndpointHealth,
  partitionFromDeliverySubject,
  partitionOf,
  provisionStreams,
  redrivenDelivery,
  retriesStream,
  retrySchedulerConsumer,
  routedDelivery,
  type CloudEvent,
  type Config,
  type PubAck,
} from '@sluice/core';
import { Webhook } from 'standardwebhooks';
import { decodeAttempt, type AttemptRecord } from '../src/attempt-record.js';
import { Deliverer, type DelivererOptions } from '../src/deliverer.js';
import { decodeHealth, encodeHealth, type EndpointHealth } from '../src/endpoint-health.js';
import type { OperationalData } from '../src/operational-events.js';
import { uniqueName, type RecordedRequest, type TestNats } from '@sluice/test-harness';

// Shared by the in-process (deliverer.test.ts) and pool (pool.test.ts) integration tests: one setup,
// deliveries published exactly as the router writes them, and the independent signature check.

/** An endpoint of a test setup; a secret is generated when none is given. */
export interface EndpointSpec {
  id: string;
  url: string;
  secret?: string;
  timeoutMs?: number;
  /** Any other `endpoints[]` setting (maxInFlight, ratePerSecond, retrySchedule, …). */
  [setting: string]: unknown;
}

/** A provisioned namespace on a test nats-server, with a publisher for deliveries. */
export interface Setup {
  config: Config;
  nc: NatsConnection;
  jsm: JetStreamManager;
  publisher: AckWindowPublisher;
  secrets: Map<string, string>;
}

export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * Provisions a fresh namespace with these endpoints and `deliverer` settings (compressed time). The
 * receivers listen on 127.0.0.1, which the network policy blocks unless allowed: it is allowed here,
 * and nothing else on loopback is.
 */
export async function setup(
  nats: TestNats,
  endpoints: EndpointSpec[],
  deliverer: Record<string, unknown>,
): Promise<Setup> {
  const secrets = new Map(endpoints.map((e) => [e.id, e.secret ?? newSecret()]));
  const config = buildConfig(
    JSON.stringify({
      nats: { url: nats.url, prefix: uniqueName('dl'), partitions: 4 },
      deliverer: { allowNetworks: ['127.0.0.1/32'], ...deliverer },
      endpoints: endpoints.map((e) => ({ ...e, secret: secrets.get(e.id) })),
    }),
    {},
  );
  const nc = await nats.connect();
  const jsm = await jetstreamManager(nc);
  await provisionStreams(jsm, config.nats);
  return { config, nc, jsm, publisher: new AckWindowPublisher(nc), secrets };
}

/** A deliverer of the setup's endpoints, silent; `extra` adds options (main key, clock, …). */
export function newDeliverer(
  s: Pick<Setup, 'config' | 'nc' | 'jsm'>,
  extra: Partial<DelivererOptions> = {},
): Deliverer {
  return new Deliverer({
    nc: s.nc,
    jsm: s.jsm,
    nats: s.config.nats,
    deliverer: s.config.deliverer,
    endpoints: s.config.endpoints,
    logger: createLogger({ level: 'silent', pretty: false }),
    ...extra,
  });
}

/** Starts a deliverer and stops it when the test's scope ends, even on failure. */
export async function startDeliverer(s: Setup): Promise<Deliverer & AsyncDisposable> {
  const d = newDeliverer(s);
  await d.start();
  return Object.assign(d, { [Symbol.asyncDispose]: () => d.stop() });
}

/** One published delivery. */
export interface TestDelivery {
  eventId: string;
  endpoint: string;
  body: Buffer;
}

/** Publishes one delivery the way the router does; `n` picks the partition and tags the body. */
export async function publishDelivery(s: Setup, endpoint: string, n = 0): Promise<TestDelivery> {
  const [sent, stored] = sendDelivery(s, endpoint, n);
  await stored;
  return sent;
}

/**
 * Publishes `count` deliveries numbered `from`, `from + 1`, … without awaiting each PubAck: as many at
 * once as the publisher's ack window holds. Resolves once every one is stored.
 */
export async function publishDeliveries(
  s: Setup,
  endpoint: string,
  count: number,
  from = 0,
): Promise<TestDelivery[]> {
  const sent: TestDelivery[] = [];
  const stored: Promise<PubAck>[] = [];
  for (let n = from; n < from + count; n++) {
    if (s.publisher.full) await s.publisher.room();
    const [d, ack] = sendDelivery(s, endpoint, n);
    sent.push(d);
    stored.push(ack);
  }
  await Promise.all(stored);
  return sent;
}

function sendDelivery(s: Setup, endpoint: string, n: number): [TestDelivery, Promise<PubAck>] {
  const eventId = uniqueName('evt');
  // Non-ASCII and a space after a comma: the body must arrive byte for byte, never re-encoded.
  const body = Buffer.from(
    JSON.stringify({
      specversion: '1.0',
      id: eventId,
      type: 'mysql.shop.orders.insert',
      data: { n, name: 'Zoë 🚀', total: '19.90' },
    }).replace(',', ', '),
    'utf8',
  );
  const d = routedDelivery(
    s.config.nats,
    { eventId, subscriptionId: 'sub1', endpointId: endpoint, partition: n % 4 },
    body,
  );
  const stored = s.publisher.publish(d.subject, d.data, d.msgId, d.headers);
  return [{ eventId, endpoint, body }, stored];
}

/** Verifies a received request with the independent standardwebhooks package; throws when it does not. */
export function verify(secret: string, r: RecordedRequest): unknown {
  return new Webhook(secret).verify(r.body, {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  });
}

/** True when the endpoint's consumer holds nothing: every message acked or terminated. */
export async function consumerIdle(s: Setup, endpoint: string): Promise<boolean> {
  const info = await s.jsm.consumers.info(deliveriesStream(s.config.nats), endpointConsumer(endpoint));
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

/** The endpoint's consumer on the deliveries stream, as the server reports it now. */
export function endpointConsumerInfo(s: Setup, endpoint: string): Promise<ConsumerInfo> {
  return s.jsm.consumers.info(deliveriesStream(s.config.nats), endpointConsumer(endpoint));
}

/** True when the retry scheduler holds no waiting retry: every one was put back or none was made. */
export async function retriesIdle(s: Setup): Promise<boolean> {
  const info = await s.jsm.consumers.info(retriesStream(s.config.nats), retrySchedulerConsumer());
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

/** Messages stored in a stream, in total. */
export async function streamCount(s: Setup, stream: string): Promise<number> {
  return (await s.jsm.streams.info(stream)).state.messages;
}

const SCAN_BATCH = 256;
const SCAN_EXPIRES_MS = 2_000;

/**
 * Reads the messages of `stream` matching `filter` that exist when called, in stream order, with an
 * ordered consumer (deleted afterwards). Returns at the last of them instead of waiting for more.
 */
export async function readStream(s: Setup, stream: string, filter: string): Promise<JsMsg[]> {
  const lastSeq = (await s.jsm.streams.info(stream)).state.last_seq;
  const consumer = await jetstream(s.nc).consumers.get(stream, { filter_subjects: filter });
  const out: JsMsg[] = [];
  try {
    let remaining = (await consumer.info(true)).num_pending;
    while (remaining > 0) {
      const batch = await consumer.fetch({
        max_messages: Math.min(remaining, SCAN_BATCH),
        expires: SCAN_EXPIRES_MS,
      });
      const before = out.length;
      for await (const m of batch) {
        out.push(m);
        remaining = m.seq >= lastSeq ? 0 : m.info.pending;
        if (remaining === 0) break;
      }
      await batch.close();
      // Counted as pending but deleted before the fetch: nothing more to read.
      if (out.length === before) break;
    }
  } finally {
    await consumer.delete().catch(() => false);
  }
  return out;
}

/** Every attempt record of an endpoint, in the order they were stored. */
export async function attemptRecords(s: Setup, endpoint: string): Promise<AttemptRecord[]> {
  const ns = s.config.nats;
  const msgs = await readStream(s, attemptsStream(ns), attemptsFilter(ns, { endpointId: endpoint }));
  return msgs.map((m) => decodeAttempt(m.data));
}

/** The attempt records of one event, by attempt number. */
export function attemptsOf(records: readonly AttemptRecord[], eventId: string): AttemptRecord[] {
  return records.filter((r) => r.eventId === eventId).sort((a, b) => a.attempt - b.attempt);
}

/** A dead letter as stored in the DLQ. */
export interface TestDeadLetter {
  seq: number;
  subject: string;
  data: Uint8Array;
  eventId: string;
  subscriptionId: string;
  reason: string;
  attempt: string;
  status: string;
  error: string;
}

/** Every dead letter of an endpoint, in DLQ order. */
export async function deadLetters(s: Setup, endpoint: string): Promise<TestDeadLetter[]> {
  const ns = s.config.nats;
  const msgs = await readStream(s, dlqStream(ns), dlqEndpointFilter(ns, endpoint));
  return msgs.map((m) => {
    const h = (k: string): string => m.headers?.get(k) ?? '';
    return {
      seq: m.seq,
      subject: m.subject,
      data: m.data,
      eventId: h(DeliveryHeaders.eventId),
      subscriptionId: h(DeliveryHeaders.subscription),
      reason: h(DeliveryHeaders.reason),
      attempt: h(DeliveryHeaders.attempt),
      status: h(DeliveryHeaders.status),
      error: h(DeliveryHeaders.error),
    };
  });
}

/**
 * Puts an endpoint's dead letters back the way `sluice dlq redrive` does: to the delivery subject as
 * attempt 1 (Msg-Id from the DLQ sequence), then deletes each from the DLQ once stored. Returns how many.
 */
export async function redriveDeadLetters(s: Setup, endpoint: string): Promise<number> {
  const ns = s.config.nats;
  const letters = await deadLetters(s, endpoint);
  for (const d of letters) {
    const partition = partitionFromDeliverySubject(d.subject);
    if (partition === undefined) throw new Error(`dead letter ${d.seq} has no partition: ${d.subject}`);
    const { eventId, subscriptionId } = d;
    const m = redrivenDelivery(
      ns,
      { eventId, subscriptionId, endpointId: endpoint, partition },
      d.seq,
      d.data,
    );
    await s.publisher.publish(m.subject, m.data, m.msgId, m.headers);
    await s.jsm.streams.deleteMessage(dlqStream(ns), d.seq, false);
  }
  return letters.length;
}

/**
 * The operational events of `type` about an endpoint on the events stream (partitioned by the
 * endpoint id, like the deliverer publishes them).
 */
export async function operationalEvents(
  s: Setup,
  endpoint: string,
  type: string,
): Promise<CloudEvent<OperationalData>[]> {
  const ns = s.config.nats;
  const subject = eventSubject(ns, partitionOf(endpoint, ns.partitions), type);
  const msgs = await readStream(s, eventsStream(ns), subject);
  return msgs.map((m) => decodeEvent(m.data) as CloudEvent<OperationalData>);
}

/** The endpoint's shared health record in the endpoints KV bucket (healthy when absent). */
export async function endpointHealth(s: Setup, endpoint: string): Promise<EndpointHealth> {
  const kv = await openEndpointHealth(s.nc, s.config.nats);
  const e = await kv.get(endpoint);
  return e?.operation === 'PUT' ? decodeHealth(e.value) : decodeHealth(undefined);
}

/**
 * Enables an endpoint again the way `sluice endpoints enable` does: a fresh record, not disabled,
 * stamped with the writer's clock (`atMs`).
 */
export async function enableEndpoint(s: Setup, endpoint: string, atMs = Date.now()): Promise<void> {
  const kv = await openEndpointHealth(s.nc, s.config.nats);
  await kv.put(endpoint, encodeHealth({ disabled: false, updatedAtMs: atMs }));
}
