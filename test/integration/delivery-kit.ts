import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckWindowPublisher,
  attemptsFilter,
  attemptsStream,
  buildConfig,
  deliveriesStream,
  endpointConsumer,
  provisionStreams,
  routedDelivery,
  type NatsConfig,
} from '@sluice/core';
import { decodeAttempt, type AttemptRecord } from '@sluice/deliverer';
import { Webhook } from 'standardwebhooks';
import { uniqueName, type TestNats } from '@sluice/test-harness';

// Shared by the delivery fault tests: a namespace provisioned on a test nats-server, deliveries
// published exactly as the router writes them, the configuration a `sluice deliverer` child gets,
// and a bare HTTP server for receivers whose behaviour startReceiver cannot express.

const PARTITIONS = 4;

/** An endpoint of a namespace; the secret is generated. */
export interface EndpointSpec {
  readonly id: string;
  readonly url: string;
  /** Any other `endpoints[]` setting (maxInFlight, ratePerSecond, timeoutMs, …). */
  readonly [setting: string]: unknown;
}

/** A provisioned namespace and what a test needs to publish into it and look at it. */
export interface Namespace {
  readonly nats: NatsConfig;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly secrets: ReadonlyMap<string, string>;
  /** The configuration for a `sluice deliverer` child (spawnSluice's `config`). */
  config(options?: ChildConfigOptions): Record<string, unknown>;
  /** Publishes `count` deliveries for `endpoint` as the router does; returns their event ids. */
  publish(endpoint: string, count: number): Promise<string[]>;
}

/** How one deliverer child's configuration differs from the namespace's. */
export interface ChildConfigOptions {
  /** Only these endpoints, by id. @default all */
  readonly endpoints?: readonly string[];
  /** Other URLs for some endpoints, so that processes sharing one can be told apart by the path. */
  readonly urls?: Readonly<Record<string, string>>;
}

/** Provisions the streams of a fresh prefix with these endpoints and `deliverer` settings. */
export async function provisionNamespace(
  nats: TestNats,
  endpoints: readonly EndpointSpec[],
  deliverer: Record<string, unknown>,
): Promise<Namespace> {
  const secrets = new Map(endpoints.map((e) => [e.id, `whsec_${randomBytes(32).toString('base64')}`]));
  const base = {
    nats: { url: nats.url, prefix: uniqueName('df'), partitions: PARTITIONS },
    logging: { level: 'info' },
    // The receivers listen on 127.0.0.1, which the network policy blocks unless allowed.
    deliverer: { allowNetworks: ['127.0.0.1/32'], ...deliverer },
  };
  const endpointsWith = ({ endpoints: only, urls = {} }: ChildConfigOptions): Record<string, unknown>[] =>
    endpoints
      .filter((e) => only === undefined || only.includes(e.id))
      .map((e) => ({ ...e, url: urls[e.id] ?? e.url, secret: secrets.get(e.id) }));
  const natsConfig = buildConfig(JSON.stringify({ ...base, endpoints: endpointsWith({}) }), {}).nats;
  const nc = await nats.connect();
  const jsm = await jetstreamManager(nc);
  await provisionStreams(jsm, natsConfig);
  const publisher = new AckWindowPublisher(nc);
  return {
    nats: natsConfig,
    nc,
    jsm,
    secrets,
    config: (options = {}) => ({ ...base, endpoints: endpointsWith(options) }),
    async publish(endpoint, count) {
      const ids = Array.from({ length: count }, () => uniqueName('evt'));
      await Promise.all(
        ids.map((eventId, n) => {
          const d = routedDelivery(
            natsConfig,
            { eventId, subscriptionId: 'sub1', endpointId: endpoint, partition: n % PARTITIONS },
            Buffer.from(JSON.stringify({ specversion: '1.0', id: eventId, type: 'test.fault', data: { n } })),
          );
          return publisher.publish(d.subject, d.data, d.msgId, d.headers);
        }),
      );
      return ids;
    },
  };
}

/** True when the endpoint's consumer holds nothing: every message acked or terminated. */
export async function consumerIdle(ns: Namespace, endpoint: string): Promise<boolean> {
  const info = await ns.jsm.consumers.info(deliveriesStream(ns.nats), endpointConsumer(endpoint));
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

/** Every attempt record of one endpoint so far, in stream order. */
export async function attemptRecords(ns: Namespace, endpoint: string): Promise<AttemptRecord[]> {
  const consumer = await jetstream(ns.nc).consumers.get(attemptsStream(ns.nats), {
    filter_subjects: attemptsFilter(ns.nats, { endpointId: endpoint }),
  });
  try {
    const records: AttemptRecord[] = [];
    let remaining = (await consumer.info(true)).num_pending;
    // Bounded: each round reads at least one record or ends the scan.
    while (remaining > 0) {
      const batch = await consumer.fetch({ max_messages: remaining, expires: 2_000 });
      let got = 0;
      for await (const m of batch) {
        records.push(decodeAttempt(m.data));
        got += 1;
        remaining = m.info.pending;
        if (remaining === 0) break;
      }
      batch.stop();
      if (got === 0) break;
    }
    return records;
  } finally {
    await consumer.delete().catch(() => false);
  }
}

/** Verifies a request with the independent standardwebhooks package; throws when it does not verify. */
export function verifySignature(
  secret: string,
  body: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): unknown {
  return new Webhook(secret).verify(body, {
    'webhook-id': String(headers['webhook-id']),
    'webhook-timestamp': String(headers['webhook-timestamp']),
    'webhook-signature': String(headers['webhook-signature']),
  });
}

/** Peak resident set size of a live process (`VmHWM` in /proc/<pid>/status), bytes. */
export async function peakRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

/** A bare HTTP server on 127.0.0.1, from {@link startHttpServer}. */
export interface TestHttpServer {
  /** Base URL without a trailing slash. */
  readonly url: string;
  /** Aborted when the server is disposed: handlers holding a request end then. */
  readonly closing: AbortSignal;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts an HTTP server on 127.0.0.1, port 0, that hands each request to `handle`. Dispose closes it
 * and every open connection, so handlers that hold requests never outlive the test.
 */
export async function startHttpServer(
  handle: (req: IncomingMessage, res: ServerResponse, closing: AbortSignal) => void | Promise<void>,
): Promise<TestHttpServer> {
  const closing = new AbortController();
  // Every held request listens for the close.
  setMaxListeners(0, closing.signal);
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    Promise.resolve(handle(req, res, closing.signal)).catch(() => res.destroy());
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    closing: closing.signal,
    async [Symbol.asyncDispose]() {
      closing.abort();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads a request body to the end, as UTF-8. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A loopback port nothing listens on: bound once by this process, then released. */
export async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
