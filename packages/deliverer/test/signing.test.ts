import { createPublicKey, verify as verifyEd25519 } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  AckWindowPublisher,
  MainKey,
  SigningSecretStore,
  attemptsFilter,
  attemptsStream,
  buildConfig,
  dlqEndpointFilter,
  dlqStream,
  eventsStream,
  eventsStreamSubjects,
  isSluiceError,
  openSecrets,
  provisionStreams,
  routedDelivery,
  secretsBucket,
  type EndpointSecrets,
} from '@sluice/core';
import { Webhook as SvixWebhook } from 'svix';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { Deliverer } from '../src/index.js';
import {
  startNats,
  startReceiver,
  uniqueName,
  waitFor,
  type RecordedRequest,
  type TestNats,
  type TestReceiver,
} from '@sluice/test-harness';
import { consumerIdle, newDeliverer, publishDelivery, readStream, type Setup } from './fixture.js';

// Managed signing secrets end to end, against a real nats-server and receivers on port 0, in both
// delivery modes: secrets sealed in the secrets bucket, rotation with an overlap, ed25519 (v1a), two
// deliverers racing to create one secret, and the main-key failures. Each request is checked with
// the two independent npm verifiers (standardwebhooks and svix), and v1a by hand with node:crypto.

const MODES = ['in-process', 'pool'] as const;
type Mode = (typeof MODES)[number];
type Signing = 'v1' | 'v1a' | 'both';

interface Managed extends Setup {
  mainKey: MainKey;
  store: SigningSecretStore;
}

async function setup(
  nats: TestNats,
  mode: Mode,
  endpoints: { id: string; url: string; signing?: Signing; secret?: string }[],
  prefix = uniqueName('sg'),
): Promise<Managed> {
  const config = buildConfig(
    JSON.stringify({
      nats: { url: nats.url, prefix, partitions: 4 },
      deliverer: {
        mode,
        poolThreads: 1,
        poolBatchWaitMs: 0,
        retrySchedule: [0, 50, 100],
        ackWaitMs: 2_000,
        concurrency: 16,
        allowNetworks: ['127.0.0.0/8', '::1/128'],
      },
      endpoints,
    }),
    {},
  );
  const nc = await nats.connect();
  const jsm = await jetstreamManager(nc);
  await provisionStreams(jsm, config.nats);
  const mainKey = MainKey.generate();
  const store = new SigningSecretStore(await openSecrets(nc, config.nats), mainKey);
  return { config, nc, jsm, publisher: new AckWindowPublisher(nc), secrets: new Map(), mainKey, store };
}

function deliverer(
  s: Managed,
  o: { mainKey?: MainKey | undefined; now?: () => number } = {},
): Deliverer & AsyncDisposable {
  const d = newDeliverer(s, {
    ...('mainKey' in o ? (o.mainKey ? { mainKey: o.mainKey } : {}) : { mainKey: s.mainKey }),
    ...(o.now ? { now: o.now } : {}),
  });
  return Object.assign(d, { [Symbol.asyncDispose]: () => d.stop() });
}

async function started(d: Deliverer & AsyncDisposable): Promise<Deliverer & AsyncDisposable> {
  await d.start();
  return d;
}

function headersOf(r: RecordedRequest): Record<string, string> {
  return {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  };
}

/** Both npm verifiers accept the request with `secret`; returns the parsed payload. */
function verifiesWith(secret: string, r: RecordedRequest): unknown {
  const a = new Webhook(secret).verify(r.body, headersOf(r));
  const b = new SvixWebhook(secret).verify(r.body, headersOf(r));
  expect(b).toEqual(a);
  return a;
}

/** True when both npm verifiers refuse `body` with these headers and `secret`. */
function bothRefuse(secret: string, body: string, headers: Record<string, string>): boolean {
  const refuses = (f: () => unknown): boolean => {
    try {
      f();
      return false;
    } catch {
      return true;
    }
  };
  return (
    refuses(() => new Webhook(secret).verify(body, headers)) &&
    refuses(() => new SvixWebhook(secret).verify(body, headers))
  );
}

/** True when some `v1a,` signature of the request verifies with the `whpk_` key (node:crypto, by hand). */
function v1aVerifies(whpk: string, r: RecordedRequest, body = r.body): boolean {
  const key = createPublicKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      x: Buffer.from(whpk.slice('whpk_'.length), 'base64').toString('base64url'),
    },
    format: 'jwk',
  });
  const h = headersOf(r);
  const data = Buffer.from(`${h['webhook-id']}.${h['webhook-timestamp']}.${body}`, 'utf8');
  return String(h['webhook-signature'])
    .split(' ')
    .filter((p) => p.startsWith('v1a,'))
    .some((p) => verifyEd25519(null, data, key, Buffer.from(p.slice(4), 'base64')));
}

/** Publishes one delivery and waits until the receiver has it; returns that request. */
async function deliverOne(
  s: Managed,
  hook: TestReceiver,
  endpoint: string,
  n: number,
): Promise<RecordedRequest> {
  const d = await publishDelivery(s, endpoint, n);
  const got = await hook.waitFor((rs) => rs.some((r) => r.headers['webhook-id'] === d.eventId));
  return got.find((r) => r.headers['webhook-id'] === d.eventId)!;
}

const current = (secrets: EndpointSecrets): string => secrets.hmac[0]!.secret;

describe.each(MODES)('managed signing secrets, %s', (mode) => {
  it('generates a sealed secret at start; every delivery verifies with both npm verifiers; tampering is refused', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver();
    const s = await setup(nats, mode, [{ id: 'billing', url: hook.url }]);
    expect(await s.store.get('billing')).toBeUndefined();
    await using d = await started(deliverer(s));
    const secrets = (await s.store.get('billing'))!;
    expect(secrets.hmac).toHaveLength(1);
    expect(secrets.ed25519).toHaveLength(0);
    for (let n = 0; n < 3; n++) {
      const r = await deliverOne(s, hook, 'billing', n);
      expect(verifiesWith(current(secrets), r)).toEqual(JSON.parse(r.body));
      expect(r.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    }
    const r = hook.requests[0]!;
    const h = headersOf(r);
    const secret = current(secrets);
    expect(bothRefuse(secret, r.body.replace('19.90', '19.91'), h)).toBe(true);
    expect(bothRefuse(secret, r.body, { ...h, 'webhook-id': `${h['webhook-id']}x` })).toBe(true);
    expect(
      bothRefuse(secret, r.body, { ...h, 'webhook-timestamp': String(Number(h['webhook-timestamp']) - 1) }),
    ).toBe(true);
    expect(bothRefuse(`whsec_${Buffer.alloc(32, 1).toString('base64')}`, r.body, h)).toBe(true);
    expect(bothRefuse(secret, r.body, h)).toBe(false);
    await waitFor(() => consumerIdle(s, 'billing'), { message: 'all acked' });
    expect(d.stats.delivered).toBe(3);
  });

  it('rotation: both signatures, newest first, during the overlap; then only the new one', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver();
    const s = await setup(nats, mode, [{ id: 'billing', url: hook.url }]);
    let skewMs = 0;
    await using d = await started(deliverer(s, { now: () => Date.now() + skewMs }));
    const old = current((await s.store.get('billing'))!);
    verifiesWith(old, await deliverOne(s, hook, 'billing', 0));

    const overlapMs = 60_000;
    const rotated = await s.store.rotate('billing', { hmac: true, ed25519: false }, overlapMs, Date.now());
    const fresh = current(rotated);
    expect(fresh).not.toBe(old);
    expect(rotated.hmac.map((h) => h.secret)).toEqual([fresh, old]);
    // The running deliverer follows the bucket: within a few deliveries it signs with both.
    let during: RecordedRequest | undefined;
    for (let n = 1; n <= 50 && !during; n++) {
      const r = await deliverOne(s, hook, 'billing', n);
      if (String(r.headers['webhook-signature']).split(' ').length === 2) during = r;
    }
    expect(during, 'a delivery signed with both secrets').toBeDefined();
    const parts = String(during!.headers['webhook-signature']).split(' ');
    expect(parts.every((p) => p.startsWith('v1,'))).toBe(true);
    // Newest first: the first signature is the new secret's alone.
    expect(bothRefuse(fresh, during!.body, { ...headersOf(during!), 'webhook-signature': parts[1]! })).toBe(
      true,
    );
    verifiesWith(fresh, during!);
    verifiesWith(old, during!);

    // Past the overlap (the deliverer's clock, which stamps webhook-timestamp, moves on a minute).
    skewMs = overlapMs + 1_000;
    const after = await deliverOne(s, hook, 'billing', 100);
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    verifiesWith(fresh, after);
    expect(bothRefuse(old, after.body, headersOf(after))).toBe(true);
    await waitFor(() => consumerIdle(s, 'billing'), { message: 'all acked' });
    expect(d.stats.deadLettered).toBe(0);
  });

  it('v1a: ed25519 signatures verify with node:crypto and the whpk_ key; "both" also carries v1', async () => {
    await using nats = await startNats();
    await using edOnly = await startReceiver();
    await using both = await startReceiver();
    const inline = `whsec_${Buffer.alloc(32, 0x2a).toString('base64')}`;
    const s = await setup(nats, mode, [
      { id: 'ed', url: edOnly.url, signing: 'v1a' },
      { id: 'both', url: both.url, signing: 'both', secret: inline },
    ]);
    await using _d = await started(deliverer(s));
    const ed = (await s.store.get('ed'))!;
    expect(ed.hmac).toHaveLength(0);
    expect(ed.ed25519).toHaveLength(1);
    const r1 = await deliverOne(s, edOnly, 'ed', 0);
    expect(String(r1.headers['webhook-signature'])).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(v1aVerifies(ed.ed25519[0]!.publicKey, r1)).toBe(true);
    expect(v1aVerifies(ed.ed25519[0]!.publicKey, r1, r1.body.replace('19.90', '19.91'))).toBe(false);
    // Another endpoint's key does not verify it.
    const bothKeys = (await s.store.get('both'))!;
    expect(bothKeys.hmac).toHaveLength(0); // the v1 secret is the inline one
    expect(v1aVerifies(bothKeys.ed25519[0]!.publicKey, r1)).toBe(false);

    const r2 = await deliverOne(s, both, 'both', 1);
    expect(
      String(r2.headers['webhook-signature'])
        .split(' ')
        .map((p) => p.split(',')[0]),
    ).toEqual(['v1', 'v1a']);
    verifiesWith(inline, r2);
    expect(v1aVerifies(bothKeys.ed25519[0]!.publicKey, r2)).toBe(true);
  });
});

describe('managed signing secrets', () => {
  it('two deliverers starting at once create one secret, and both sign with it', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver();
    const s = await setup(nats, 'in-process', [{ id: 'race', url: hook.url, signing: 'both' }]);
    // A second connection, as a second process would have.
    const other: Managed = { ...s, nc: await nats.connect() };
    other.jsm = await jetstreamManager(other.nc);
    const a = deliverer(s);
    const b = deliverer(other);
    try {
      await Promise.all([a.start(), b.start()]);
      const secrets = (await s.store.get('race'))!;
      expect(secrets.hmac).toHaveLength(1);
      expect(secrets.ed25519).toHaveLength(1);
      for (let n = 0; n < 20; n++) await publishDelivery(s, 'race', n);
      await hook.waitFor(20);
      for (const r of hook.requests) {
        verifiesWith(current(secrets), r);
        expect(v1aVerifies(secrets.ed25519[0]!.publicKey, r)).toBe(true);
      }
    } finally {
      await Promise.allSettled([a.stop(), b.stop()]);
    }
  });

  it('concurrent ensure() calls on separate connections agree on one secret', async () => {
    await using nats = await startNats();
    const s = await setup(nats, 'in-process', []);
    const stores = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const nc = await nats.connect();
        return new SigningSecretStore(await openSecrets(nc, s.config.nats), s.mainKey);
      }),
    );
    const results = await Promise.all(
      stores.map((st) => st.ensure('e1', { hmac: true, ed25519: true }, Date.now())),
    );
    expect(new Set(results.map((r) => r.hmac[0]!.secret)).size).toBe(1);
    expect(new Set(results.map((r) => r.ed25519[0]!.publicKey)).size).toBe(1);
    expect(new Set(results.map((r) => r.revision)).size).toBe(1);
  });

  it('refuses to start without the main key (SLUICE_MAIN_KEY_MISSING) or with another one (SLUICE_SECRET_UNREADABLE)', async () => {
    await using nats = await startNats();
    const s = await setup(nats, 'in-process', [{ id: 'billing', url: 'http://127.0.0.1:9/' }]);
    const codeOf = async (d: Deliverer): Promise<string | undefined> => {
      try {
        await d.start();
        return undefined;
      } catch (err) {
        return isSluiceError(err) ? err.code : String(err);
      } finally {
        await d.stop();
      }
    };
    expect(await codeOf(deliverer(s, { mainKey: undefined }))).toBe('SLUICE_MAIN_KEY_MISSING');
    await s.store.ensure('billing', { hmac: true, ed25519: false }, Date.now());
    expect(await codeOf(deliverer(s, { mainKey: MainKey.generate() }))).toBe('SLUICE_SECRET_UNREADABLE');
    // An inline secret needs no main key at all.
    const inline = await setup(nats, 'in-process', [
      {
        id: 'billing',
        url: 'http://127.0.0.1:9/',
        secret: `whsec_${Buffer.alloc(32, 5).toString('base64')}`,
      },
    ]);
    expect(await codeOf(deliverer(inline, { mainKey: undefined }))).toBeUndefined();
  });

  it('keeps no plaintext secret in the bucket, and none in attempt records, dead letters or events', async () => {
    await using nats = await startNats();
    // 200 for the first, then 400: a dead letter (non-retryable) and its attempt records.
    await using hook = await startReceiver({ status: (_r, i) => (i === 0 ? 204 : 400) });
    const s = await setup(nats, 'in-process', [{ id: 'billing', url: hook.url, signing: 'both' }]);
    await using _d = await started(deliverer(s));
    await s.store.rotate('billing', { hmac: true, ed25519: true }, 60_000, Date.now());
    await publishDelivery(s, 'billing', 0);
    await publishDelivery(s, 'billing', 1);
    await hook.waitFor(2);
    await waitFor(() => consumerIdle(s, 'billing'), { message: 'both settled' });
    const secrets = (await s.store.get('billing'))!;
    expect(secrets.hmac).toHaveLength(2);
    const plaintexts = [
      ...secrets.hmac.flatMap((h) => [h.secret, h.key.toString('base64'), h.key.toString('hex')]),
      ...secrets.ed25519.flatMap((p) => [p.privateKey, p.seed.toString('base64'), p.seed.toString('hex')]),
    ];

    // The raw KV stream, every revision, as `nats stream view KV_<bucket>` would show it.
    const kvStream = `KV_${secretsBucket(s.config.nats)}`;
    const kv = await readStream(s, kvStream, `$KV.${secretsBucket(s.config.nats)}.>`);
    expect(kv.length).toBeGreaterThan(0);
    const dump = kv.map((m) => Buffer.from(m.data).toString('utf8')).join('\n');
    expect(dump).toContain('"sealed"');
    expect(dump).toContain(secrets.ed25519[0]!.publicKey);
    for (const p of plaintexts) expect(dump).not.toContain(p);
    expect(dump).not.toMatch(/whsec_|whsk_/);

    const ns = s.config.nats;
    const signatures = hook.requests.flatMap((r) => String(r.headers['webhook-signature']).split(' '));
    const streams = [
      await readStream(s, attemptsStream(ns), attemptsFilter(ns, { endpointId: 'billing' })),
      await readStream(s, dlqStream(ns), dlqEndpointFilter(ns, 'billing')),
      await readStream(s, eventsStream(ns), eventsStreamSubjects(ns)[0]!),
    ];
    expect(streams[0]!.length).toBeGreaterThanOrEqual(2);
    expect(streams[1]!.length).toBe(1);
    for (const msgs of streams)
      for (const m of msgs) {
        const text = `${Buffer.from(m.data).toString('utf8')}\n${m.headers?.toString() ?? ''}`;
        expect(text).not.toMatch(/whsec_|whsk_|webhook-signature/i);
        for (const p of [...plaintexts, ...signatures.map((x) => x.split(',')[1]!)])
          expect(text).not.toContain(p);
      }
  });
});

describe('both delivery modes send byte-identical requests', () => {
  it('same event, same clock, same keys → the same headers and body', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver();
    const prefix = uniqueName('sg');
    const fixedMs = Date.now();
    const got: RecordedRequest[] = [];
    let mainKey: MainKey | undefined;
    for (const [i, mode] of MODES.entries()) {
      const s = await setup(nats, mode, [{ id: 'twin', url: hook.url, signing: 'both' }], prefix);
      mainKey ??= s.mainKey;
      await using _d = await started(deliverer(s, { mainKey, now: () => fixedMs }));
      // The same event id and bytes; another subscription id so the stream stores it again.
      const body = Buffer.from('{"specversion":"1.0","id":"evt_twin","data":{"name":"Zoë 🚀"}}', 'utf8');
      const d = routedDelivery(
        s.config.nats,
        { eventId: 'evt_twin', subscriptionId: `sub${i}`, endpointId: 'twin', partition: 0 },
        body,
      );
      await s.publisher.publish(d.subject, d.data, d.msgId, d.headers);
      await hook.waitFor(i + 1);
      got.push(hook.requests[i]!);
      await waitFor(() => consumerIdle(s, 'twin'), { message: `${mode} settled` });
    }
    const [a, b] = got as [RecordedRequest, RecordedRequest];
    const wire = (r: RecordedRequest): unknown => ({
      method: r.method,
      url: r.url,
      body: r.body,
      ...Object.fromEntries(
        ['content-type', 'user-agent', 'webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [
          h,
          r.headers[h],
        ]),
      ),
    });
    expect(wire(b)).toEqual(wire(a));
    expect(String(a.headers['webhook-signature']).split(' ')).toHaveLength(2);
  });
});
