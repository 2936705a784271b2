import { randomBytes } from 'node:crypto';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckWindowPublisher,
  DeliveryHeaders,
  buildConfig,
  createLogger,
  deliveriesStream,
  endpointConsumer,
  deliveryId,
  deliverySubject,
  provisionStreams,
  type Config,
} from '@sluice/core';
import { Webhook } from 'standardwebhooks';
import { Deliverer } from '../src/index.js';
import { uniqueName, type RecordedRequest, type TestNats } from '../../../test/harness/index.js';

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

/** Provisions a fresh namespace with these endpoints and `deliverer` settings (compressed time). */
export async function setup(
  nats: TestNats,
  endpoints: EndpointSpec[],
  deliverer: Record<string, unknown>,
): Promise<Setup> {
  const secrets = new Map(endpoints.map((e) => [e.id, e.secret ?? newSecret()]));
  const config = buildConfig(
    JSON.stringify({
      nats: { url: nats.url, prefix: uniqueName('dl'), partitions: 4 },
      deliverer,
      endpoints: endpoints.map((e) => ({ ...e, secret: secrets.get(e.id) })),
    }),
    {},
  );
  const nc = await nats.connect();
  const jsm = await jetstreamManager(nc);
  await provisionStreams(jsm, config.nats);
  return { config, nc, jsm, publisher: new AckWindowPublisher(nc), secrets };
}

export function newDeliverer(s: Setup): Deliverer {
  return new Deliverer({
    nc: s.nc,
    jsm: s.jsm,
    nats: s.config.nats,
    deliverer: s.config.deliverer,
    endpoints: s.config.endpoints,
    logger: createLogger({ level: 'silent', pretty: false }),
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
  await s.publisher.publish(
    deliverySubject(s.config.nats, endpoint, n % 4),
    body,
    deliveryId(eventId, 'sub1'),
    {
      [DeliveryHeaders.eventId]: eventId,
      [DeliveryHeaders.subscription]: 'sub1',
      [DeliveryHeaders.endpoint]: endpoint,
    },
  );
  return { eventId, endpoint, body };
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
