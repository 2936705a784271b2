import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import type { EndpointConfig } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import {
  makeTempDir,
  removeTempDir,
  spawnSluice,
  startNats,
  startReceiver,
  waitFor,
  type TestNats,
  type TestReceiver,
} from '@sluice/test-harness';
import { startFakeDns, type FakeDns } from './fake-dns.js';
import {
  attemptRecords,
  consumerIdle,
  deadLetters,
  publishDelivery,
  setup as setupWith,
  startDeliverer,
  type Setup,
} from './fixture.js';

// The network policy at delivery time, against real servers: receivers on 127.0.0.1 (allowed by the
// fixture's `deliverer.allowNetworks: [127.0.0.1/32]`), a canary on 127.0.0.2 — loopback, but not
// allowed — listening on the receiver's port, so that any connection that reaches the wrong address
// lands on it. Host names resolve through a fake DNS server (`deliverer.dnsServers`). The canary must
// never see a connection.

/** An HTTP server on 127.0.0.2 that counts connections and requests, and answers 204. */
interface Canary extends AsyncDisposable {
  readonly url: string;
  readonly connections: number;
  readonly requests: number;
}

async function startCanary(port: number): Promise<Canary> {
  let connections = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => {
    requests += 1;
    res.writeHead(204).end();
  });
  server.on('connection', (s: Socket) => {
    connections += 1;
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.2', resolve);
  });
  return {
    url: `http://127.0.0.2:${port}`,
    get connections() {
      return connections;
    },
    get requests() {
      return requests;
    },
    async [Symbol.asyncDispose]() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Mode = 'in-process' | 'pool';

// Compressed time: four attempts within about half a second.
const setup = (
  nats: TestNats,
  dns: FakeDns,
  endpoints: { id: string; url: string }[],
  mode: Mode = 'in-process',
) =>
  setupWith(nats, endpoints, {
    mode,
    retrySchedule: [0, 50, 100, 200],
    ackWaitMs: 1_000,
    concurrency: 8,
    dnsServers: [dns.server],
  });

/** Waits until the delivery of `eventId` went to the DLQ; returns its attempt records. */
async function deadLettered(s: Setup, endpoint: string, eventId: string) {
  await waitFor(async () => (await deadLetters(s, endpoint)).some((d) => d.eventId === eventId), {
    message: `${eventId} dead-lettered`,
  });
  await waitFor(() => consumerIdle(s, endpoint), { message: 'consumer idle' });
  return (await attemptRecords(s, endpoint)).filter((r) => r.eventId === eventId);
}

/** A receiver that closes every connection after answering: each delivery opens (and looks up) anew. */
const closingReceiver = (): Promise<TestReceiver> => startReceiver({ headers: { connection: 'close' } });

describe('network guard at delivery: host names', () => {
  it.each([
    ['127.0.0.2', /loopback/],
    ['169.254.169.254', /cloud metadata/],
    ['10.0.0.1', /private/],
    ['::ffff:127.0.0.2', /IPv4-mapped form of 127\.0\.0\.2: loopback/],
  ])('a name resolving to %s: every attempt blocked, recorded, nothing sent', async (address, reason) => {
    await using nats = await startNats();
    await using dns = await startFakeDns();
    await using hook = await startReceiver();
    await using canary = await startCanary(hook.port);
    dns.answer('hooks.test', [address]);
    const s = await setup(nats, dns, [{ id: 'ep', url: `http://hooks.test:${hook.port}/in` }]);
    await using deliverer = await startDeliverer(s);
    const d = await publishDelivery(s, 'ep');

    const attempts = await deadLettered(s, 'ep', d.eventId);
    expect(attempts.map((a) => [a.attempt, a.outcome, a.error])).toEqual([
      [1, 'retry', 'blocked'],
      [2, 'retry', 'blocked'],
      [3, 'retry', 'blocked'],
      [4, 'dead-letter', 'blocked'],
    ]);
    expect(attempts[0]!.excerpt).toMatch(/SLUICE_ENDPOINT_URL_BLOCKED/);
    expect(attempts[0]!.excerpt).toMatch(reason);
    expect(attempts.every((a) => a.status === undefined)).toBe(true);
    const [letter] = await deadLetters(s, 'ep');
    expect(letter).toMatchObject({ reason: 'exhausted', error: 'blocked' });
    // The fake resolver was asked (a new connection, a new lookup, per attempt), and nothing was sent.
    expect(dns.queries('hooks.test')).toBeGreaterThanOrEqual(4);
    expect(deliverer.stats.delivered).toBe(0);
    expect(hook.requests).toEqual([]);
    expect(canary.connections).toBe(0);
  });

  it('delivers to a name that resolves to an allowed address, connecting to that address', async () => {
    await using nats = await startNats();
    await using dns = await startFakeDns();
    await using hook = await startReceiver();
    await using canary = await startCanary(hook.port);
    dns.answer('hooks.test', ['127.0.0.1']);
    const s = await setup(nats, dns, [{ id: 'ep', url: `http://hooks.test:${hook.port}/in` }]);
    await using deliverer = await startDeliverer(s);
    const d = await publishDelivery(s, 'ep');
    await hook.waitFor(1);
    await waitFor(async () => deliverer.stats.delivered === 1 && (await consumerIdle(s, 'ep')), {
      message: 'delivered',
    });
    expect(hook.requests[0]!.headers['webhook-id']).toBe(d.eventId);
    // TLS and virtual hosts see the name, not the address it was resolved to.
    expect(hook.requests[0]!.headers.host).toBe(`hooks.test:${hook.port}`);
    expect(canary.connections).toBe(0);
  });

  it.each(['in-process', 'pool'] as const)(
    'DNS rebinding (%s): the first answer is allowed, the later ones point at the canary — never reached',
    async (mode) => {
      await using nats = await startNats();
      await using dns = await startFakeDns();
      await using hook = await closingReceiver();
      await using canary = await startCanary(hook.port);
      // A check-then-connect guard would look up twice and connect to the second answer.
      dns.answer('rebind.test', (n) => (n === 0 ? ['127.0.0.1'] : ['127.0.0.2']));
      const s = await setup(nats, dns, [{ id: 'ep', url: `http://rebind.test:${hook.port}/` }], mode);
      await using deliverer = await startDeliverer(s);

      const first = await publishDelivery(s, 'ep');
      await hook.waitFor(1);
      await waitFor(() => deliverer.stats.delivered === 1, { message: 'first delivered' });
      const second = await publishDelivery(s, 'ep', 1);
      const attempts = await deadLettered(s, 'ep', second.eventId);

      expect(hook.requests.map((r) => r.headers['webhook-id'])).toEqual([first.eventId]);
      expect(attempts).toHaveLength(4);
      expect(attempts.every((a) => a.error === 'blocked' && /127\.0\.0\.2/.test(a.excerpt ?? ''))).toBe(true);
      expect(dns.queries('rebind.test')).toBeGreaterThanOrEqual(5);
      expect(canary.connections).toBe(0);
    },
  );

  it('a name allowed when the endpoint was created whose DNS turns private later: kept-alive connection stays on the checked address, new ones are refused', async () => {
    await using nats = await startNats();
    await using dns = await startFakeDns();
    // Keeps the first connection open, closes it after the second answer.
    await using hook = await startReceiver({
      headers: (_r, i): Record<string, string> => (i === 0 ? {} : { connection: 'close' }),
    });
    await using canary = await startCanary(hook.port);
    dns.answer('moving.test', ['127.0.0.1']);
    const s = await setup(nats, dns, [{ id: 'ep', url: `http://moving.test:${hook.port}/` }]);
    await using deliverer = await startDeliverer(s);
    await publishDelivery(s, 'ep', 0);
    await waitFor(() => deliverer.stats.delivered === 1, { message: 'delivered while public' });

    // Now a mixed answer: the allowed address and the canary's. Refused as a whole.
    dns.answer('moving.test', ['127.0.0.1', '127.0.0.2']);
    const queried = dns.queries('moving.test');
    await publishDelivery(s, 'ep', 1);
    await waitFor(() => deliverer.stats.delivered === 2, { message: 'second on the open connection' });
    expect(dns.queries('moving.test')).toBe(queried);
    const third = await publishDelivery(s, 'ep', 2);
    const attempts = await deadLettered(s, 'ep', third.eventId);

    expect(hook.requests).toHaveLength(2);
    expect(attempts.map((a) => a.error)).toEqual(['blocked', 'blocked', 'blocked', 'blocked']);
    expect(attempts[0]!.excerpt).toMatch(/127\.0\.0\.2 \(moving\.test\) is loopback/);
    expect(canary.connections).toBe(0);
  });

  it('a sluice deliverer child resolves with deliverer.dnsServers and refuses a private answer', async () => {
    await using nats = await startNats();
    await using dns = await startFakeDns();
    await using hook = await closingReceiver();
    await using canary = await startCanary(hook.port);
    dns.answer('good.test', ['127.0.0.1']);
    dns.answer('bad.test', ['127.0.0.2']);
    const s = await setup(
      nats,
      dns,
      [
        { id: 'good', url: `http://good.test:${hook.port}/good` },
        { id: 'bad', url: `http://bad.test:${hook.port}/bad` },
      ],
      'pool',
    );
    const { nats: natsConfig, deliverer, endpoints } = s.config;
    await using child = await spawnSluice(['deliverer'], {
      config: { nats: natsConfig, deliverer, endpoints, logging: { level: 'warn' } },
    });
    const good = await publishDelivery(s, 'good');
    const bad = await publishDelivery(s, 'bad');
    await hook.waitFor(1);
    const attempts = await deadLettered(s, 'bad', bad.eventId);
    expect(attempts.map((a) => a.error)).toEqual(['blocked', 'blocked', 'blocked', 'blocked']);
    expect(hook.requests.map((r) => [r.url, r.headers['webhook-id']])).toEqual([['/good', good.eventId]]);
    expect(canary.connections).toBe(0);
    expect(await child.stop()).toBe(0);
  });
});

/** An HTTPS receiver on 127.0.0.1 with a fresh self-signed certificate for `name` only. */
async function startTlsReceiver(name: string) {
  const dir = await makeTempDir('tls');
  const [keyFile, certFile] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  await promisify(execFile)('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`],
    ...['-addext', `subjectAltName=DNS:${name}`],
  ]);
  const requests: { url: string; servername: string | false | null }[] = [];
  const server = createTlsServer(
    { key: await readFile(keyFile), cert: await readFile(certFile) },
    (req, res) => {
      requests.push({ url: req.url ?? '', servername: (req.socket as TLSSocket).servername });
      req.resume();
      req.on('end', () => res.writeHead(204, { connection: 'close' }).end());
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    certFile,
    requests,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await removeTempDir(dir);
    },
  };
}

describe('network guard at delivery: TLS', () => {
  it('keeps SNI and certificate checks on the host name while connecting to the checked address', async () => {
    await using nats = await startNats();
    await using dns = await startFakeDns();
    await using tls = await startTlsReceiver('tls.test');
    await using canary = await startCanary(tls.port);
    dns.answer('tls.test', ['127.0.0.1']);
    // Resolves to the same server, whose certificate does not name it.
    dns.answer('other.test', ['127.0.0.1']);
    const s = await setup(
      nats,
      dns,
      [
        { id: 'good', url: `https://tls.test:${tls.port}/good` },
        { id: 'other', url: `https://other.test:${tls.port}/other` },
      ],
      'pool',
    );
    const { nats: natsConfig, deliverer, endpoints } = s.config;
    // The child trusts the test certificate; the test process does not need to.
    await using child = await spawnSluice(['deliverer'], {
      config: { nats: natsConfig, deliverer, endpoints, logging: { level: 'warn' } },
      env: { NODE_EXTRA_CA_CERTS: tls.certFile },
    });
    await publishDelivery(s, 'good');
    const other = await publishDelivery(s, 'other');
    const attempts = await deadLettered(s, 'other', other.eventId);

    await waitFor(() => tls.requests.length === 1, { message: 'good delivered' });
    expect(tls.requests).toEqual([{ url: '/good', servername: 'tls.test' }]);
    expect(attempts.map((a) => a.error)).toEqual(['network', 'network', 'network', 'network']);
    expect(attempts[0]!.excerpt).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
    expect(canary.connections).toBe(0);
    expect(await child.stop()).toBe(0);
  });
});

describe('network guard at delivery: literal addresses and redirects', () => {
  it.each([
    (port: number) => `http://127.0.0.2:${port}/`,
    (port: number) => `http://2130706434:${port}/`,
    (port: number) => `http://0x7f.2:${port}/`,
    (port: number) => `http://0177.0.0.2:${port}/`,
    (port: number) => `http://127.0.0.2.:${port}/`,
    (port: number) => `http://[::ffff:127.0.0.2]:${port}/`,
    (port: number) => `http://[::ffff:7f00:2]:${port}/`,
  ])(
    'an endpoint whose URL is a blocked literal (%#) is dead-lettered at its first attempt',
    async (urlOf) => {
      await using nats = await startNats();
      await using dns = await startFakeDns();
      await using hook = await startReceiver();
      await using canary = await startCanary(hook.port);
      const s = await setup(nats, dns, [{ id: 'ep', url: hook.url }]);
      // The configuration refuses such a URL (network-policy.test.ts); a deliverer handed one anyway
      // must refuse it too: literal hosts never reach the lookup that guards names.
      const endpoints: EndpointConfig[] = s.config.endpoints.map((e) => ({ ...e, url: urlOf(hook.port) }));
      await using deliverer = await startDeliverer({ ...s, config: { ...s.config, endpoints } });
      const d = await publishDelivery(s, 'ep');

      const attempts = await deadLettered(s, 'ep', d.eventId);
      expect(attempts.map((a) => [a.attempt, a.outcome, a.error])).toEqual([[1, 'dead-letter', 'blocked']]);
      expect(attempts[0]!.excerpt).toMatch(/127\.0\.0\.2.*loopback/);
      const [letter] = await deadLetters(s, 'ep');
      expect(letter).toMatchObject({ reason: 'blocked', error: 'blocked', attempt: '1' });
      expect(deliverer.stats.delivered).toBe(0);
      expect(hook.requests).toEqual([]);
      expect(canary.connections).toBe(0);
    },
  );

  it('never follows a redirect, to the metadata service or to the canary', async () => {
    await using nats = await startNats();
    await using dns = await startFakeDns();
    await using hook = await startReceiver({
      status: 302,
      headers: (_r, i) => ({
        location: i % 2 === 0 ? 'http://169.254.169.254/latest/meta-data/' : `http://127.0.0.2:${hook.port}/`,
      }),
    });
    await using canary = await startCanary(hook.port);
    const s = await setup(nats, dns, [{ id: 'ep', url: `${hook.url}/in` }]);
    await using deliverer = await startDeliverer(s);
    const d = await publishDelivery(s, 'ep');

    const attempts = await deadLettered(s, 'ep', d.eventId);
    expect(attempts.map((a) => a.status)).toEqual([302, 302, 302, 302]);
    expect(hook.requests.map((r) => r.url)).toEqual(['/in', '/in', '/in', '/in']);
    expect(deliverer.stats.delivered).toBe(0);
    expect(canary.connections).toBe(0);
  });
});
