import { randomBytes } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, nkeys, type NatsConnection } from '@nats-io/transport-node';
import { connectNats, isSluiceError, type ErrorCode } from '@sluice/core';
import { request } from 'undici';
import { describe, expect, test } from 'vitest';
import {
  spawnSluice,
  startMysql,
  startReceiver,
  uniqueName,
  waitFor,
  type RecordedRequest,
} from '@sluice/test-harness';
import {
  makeCertificates,
  makeOperator,
  natsConfig,
  startConfiguredNats,
  tempDir,
} from './nats-security-kit.js';

// NATS connection security (docs/nats-security.md): every authentication kind against a real
// nats-server, TLS with certificates made by openssl, and the per-role permission file shipped in
// deploy/nats/permissions.conf loaded as it is, with capture, router, deliverer and api running as
// separate processes under their own users.

const PERMISSIONS_FILE = fileURLToPath(new URL('../../deploy/nats/permissions.conf', import.meta.url));
const MINIO_PUT = fileURLToPath(new URL('../fixtures/s3/minio-put.json', import.meta.url));

/** Connects with connectNats; resolves with the error code (or 'ok') and the message. */
async function attempt(nats: Record<string, unknown>): Promise<{ code: ErrorCode | 'ok'; message: string }> {
  try {
    const { nc } = await connectNats(natsConfig({ connectTimeoutMs: 3_000, ...nats }), {
      name: 'sluice-test',
    });
    await nc.close();
    return { code: 'ok', message: '' };
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    // Everything a log line would show of the error: message, details and cause.
    const shown = `${err.message} ${JSON.stringify(err.details)} ${String((err.cause as Error)?.message)}`;
    return { code: err.code, message: shown };
  }
}

describe('authentication', () => {
  test('user and password; a wrong password is SLUICE_NATS_AUTH and never shown', async () => {
    await using dir = await tempDir();
    const password = `pw-${randomBytes(12).toString('hex')}`;
    await using server = await startConfiguredNats(
      dir.path,
      `authorization { users = [ { user: alice, password: "${password}" } ] }\n`,
    );
    expect(await attempt({ url: server.url, user: 'alice', pass: password })).toEqual({
      code: 'ok',
      message: '',
    });
    const wrong = `${password}-wrong`;
    const refused = await attempt({ url: server.url, user: 'alice', pass: wrong });
    expect(refused.code).toBe('SLUICE_NATS_AUTH');
    expect(refused.message).toContain('user "alice"');
    expect(refused.message).not.toContain(wrong);
    expect(refused.message).not.toContain(password);
    expect((await attempt({ url: server.url })).code).toBe('SLUICE_NATS_AUTH');
    // Credentials in the URL are cut from every message.
    const inUrl = await attempt({ url: server.url.replace('nats://', `nats://alice:${wrong}@`) });
    expect(inUrl.code).toBe('SLUICE_NATS_AUTH');
    expect(inUrl.message).not.toContain(wrong);
  });

  test('token', async () => {
    await using dir = await tempDir();
    const token = `tok-${randomBytes(16).toString('hex')}`;
    await using server = await startConfiguredNats(dir.path, `authorization { token: "${token}" }\n`);
    expect((await attempt({ url: server.url, token })).code).toBe('ok');
    const refused = await attempt({ url: server.url, token: `${token}x` });
    expect(refused.code).toBe('SLUICE_NATS_AUTH');
    expect(refused.message).not.toContain(token);
  });

  test('nkey seed file; an unknown nkey is refused, a missing or malformed seed file is SLUICE_NATS_CREDENTIALS', async () => {
    await using dir = await tempDir();
    const user = nkeys.createUser();
    const stranger = nkeys.createUser();
    const seedFile = join(dir.path, 'user.nk');
    const strangerFile = join(dir.path, 'stranger.nk');
    await writeFile(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`, { mode: 0o600 });
    await writeFile(strangerFile, new TextDecoder().decode(stranger.getSeed()), { mode: 0o600 });
    await using server = await startConfiguredNats(
      dir.path,
      `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }\n`,
    );
    expect((await attempt({ url: server.url, nkeySeedFile: seedFile })).code).toBe('ok');
    const refused = await attempt({ url: server.url, nkeySeedFile: strangerFile });
    expect(refused.code).toBe('SLUICE_NATS_AUTH');
    expect(refused.message).toContain(stranger.getPublicKey());
    expect(refused.message).not.toContain(new TextDecoder().decode(stranger.getSeed()));

    const missing = await attempt({ url: server.url, nkeySeedFile: join(dir.path, 'nope.nk') });
    expect(missing).toMatchObject({ code: 'SLUICE_NATS_CREDENTIALS' });
    expect(missing.message).toContain('does not exist');
    const garbage = join(dir.path, 'garbage.nk');
    await writeFile(garbage, 'SUnotaseed\n');
    expect((await attempt({ url: server.url, nkeySeedFile: garbage })).code).toBe('SLUICE_NATS_CREDENTIALS');
    // An account seed is a valid seed, but not a user's.
    await writeFile(garbage, new TextDecoder().decode(nkeys.createAccount().getSeed()));
    expect((await attempt({ url: server.url, nkeySeedFile: garbage })).code).toBe('SLUICE_NATS_CREDENTIALS');
  });

  test('creds file in operator mode (memory resolver, JWTs signed here), with JetStream', async () => {
    await using dir = await tempDir();
    const operator = makeOperator();
    const credsFile = join(dir.path, 'sluice.creds');
    await writeFile(credsFile, operator.userCreds('sluice-capture'), { mode: 0o600 });
    await using server = await startConfiguredNats(dir.path, operator.conf);
    expect(await attempt({ url: server.url, credsFile })).toEqual({ code: 'ok', message: '' });

    // A user signed by an account the server does not know.
    const foreign = join(dir.path, 'foreign.creds');
    await writeFile(foreign, makeOperator().userCreds('intruder'));
    const refused = await attempt({ url: server.url, credsFile: foreign });
    expect(refused.code).toBe('SLUICE_NATS_AUTH');
    expect(refused.message).toContain('foreign.creds');

    const broken = join(dir.path, 'broken.creds');
    await writeFile(broken, 'not a creds file\n');
    expect((await attempt({ url: server.url, credsFile: broken })).code).toBe('SLUICE_NATS_CREDENTIALS');
  });
});

describe('TLS', () => {
  test('mutual TLS with certificates for 127.0.0.1; every way of getting it wrong is refused with a code', async () => {
    await using dir = await tempDir();
    const good = await makeCertificates(dir.path, 'good', '127.0.0.1');
    const other = await makeCertificates(dir.path, 'other', '127.0.0.2');
    const tlsBlock = (c: typeof good): string =>
      `tls { cert_file: "${c.serverCert}", key_file: "${c.serverKey}", ca_file: "${good.ca}", verify: true }\n`;
    await using server = await startConfiguredNats(dir.path, tlsBlock(good));
    const client = { tlsCaFile: good.ca, tlsCertFile: good.clientCert, tlsKeyFile: good.clientKey };

    expect(await attempt({ url: server.url, ...client })).toEqual({ code: 'ok', message: '' });

    // No client certificate: the server ends the handshake.
    const noCert = await attempt({ url: server.url, tlsCaFile: good.ca });
    expect(['SLUICE_NATS_TLS', 'SLUICE_NATS_CONNECT']).toContain(noCert.code);
    expect(noCert.message).toMatch(/TLS/);
    // The server's CA is not trusted.
    const untrusted = await attempt({ url: server.url, tls: true });
    expect(untrusted.code).toBe('SLUICE_NATS_TLS');
    expect(untrusted.message).toContain('nats.tlsCaFile');
    // TLS first, which this server does not do.
    expect((await attempt({ url: server.url, ...client, tlsHandshakeFirst: true })).code).toBe(
      'SLUICE_NATS_TLS',
    );
    // A key that is not the certificate's, and files that are not PEM.
    expect((await attempt({ url: server.url, ...client, tlsKeyFile: other.clientKey })).code).toBe(
      'SLUICE_NATS_CREDENTIALS',
    );
    expect((await attempt({ url: server.url, ...client, tlsCaFile: good.clientKey })).code).toBe(
      'SLUICE_NATS_CREDENTIALS',
    );

    // A server whose certificate (from the trusted CA's sibling) names another address.
    await using wrongName = await startConfiguredNats(
      dir.path,
      `tls { cert_file: "${other.serverCert}", key_file: "${other.serverKey}" }\n`,
    );
    const misnamed = await attempt({ url: wrongName.url, tlsCaFile: other.ca });
    expect(misnamed.code).toBe('SLUICE_NATS_TLS');

    // A TLS client and a plain server.
    await using plain = await startConfiguredNats(dir.path, '');
    expect((await attempt({ url: plain.url, tlsCaFile: good.ca })).code).toBe('SLUICE_NATS_TLS');
  });
});

// --- The per-role permission file ------------------------------------------------------------------

const ROLES = ['capture', 'router', 'deliverer', 'api', 'admin'] as const;
type RoleUser = (typeof ROLES)[number];

/** The environment deploy/nats/permissions.conf reads the users' passwords from. */
function passwordEnv(passwords: Record<RoleUser, string>): Record<string, string> {
  return Object.fromEntries(ROLES.map((r) => [`NATS_SLUICE_${r.toUpperCase()}_PASSWORD`, passwords[r]]));
}

/** Every "Publish Violation" / "Subscription Violation" line of a server log. */
function violations(log: string): string[] {
  return log.split('\n').filter((l) => / Violation - /.test(l) || /Permissions Violation/.test(l));
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return String((err as Error).message);
  }
  return 'not refused';
}

describe('deploy/nats/permissions.conf', () => {
  test('capture, router, deliverer and api each under their own user deliver rows, ingested and object events; outside its rights a role is refused', async () => {
    await using dir = await tempDir();
    // The file's commented-out lines for an s3 source `media` and for MinIO's user, switched on.
    const template = await readFile(PERMISSIONS_FILE, 'utf8');
    const withMedia = template
      .replace(/^(\s*)# ("[^"]*SLUICE_NOTIFICATIONS_media[^"]*")$/gm, '$1$2')
      .replace(/^(\s*)# (\{ user: minio,.*\})$/m, '$1$2');
    expect(withMedia.split('\n').filter((l, i) => l !== template.split('\n')[i])).toHaveLength(6);
    await writeFile(join(dir.path, 'permissions.conf'), withMedia);
    const passwords = Object.fromEntries(
      ROLES.map((r) => [r, `${r}-${randomBytes(9).toString('hex')}`]),
    ) as Record<RoleUser, string>;
    const minioPassword = randomBytes(9).toString('hex');
    // The file reads the passwords from the server's environment. A small max_payload sends a large
    // row through the oversize object store.
    await using server = await startConfiguredNats(
      dir.path,
      'max_payload: 65536\ninclude ./permissions.conf\n',
      {
        ...passwordEnv(passwords),
        MINIO_NATS_PASSWORD: minioPassword,
      },
    );
    await using db = await startMysql();
    // hook: the first request fails (a retry), then 204; dead: always 503 (retries, then the DLQ and
    // a sluice.delivery.exhausted operational event, which hook is subscribed to).
    await using hook = await startReceiver({ status: (_r, i) => (i === 0 ? 503 : 204) });
    await using dead = await startReceiver({ status: 503 });
    const schema = uniqueName('shop');
    await db.query(`CREATE DATABASE ${schema}`);
    await db.query(`CREATE TABLE ${schema}.orders (id BIGINT PRIMARY KEY, note MEDIUMTEXT)`);

    const config = (role: RoleUser, provision = false) => ({
      nats: { url: server.url, user: `sluice-${role}`, pass: passwords[role], provision },
      sources: [
        { id: 'shop', url: db.captureUrl, include: [schema] },
        { id: 'media', kind: 's3', nats: { subject: 'minio.events' } },
      ],
      endpoints: [
        {
          id: 'hook',
          url: hook.url,
          secret: `whsec_${randomBytes(32).toString('base64')}`,
          ratePerSecond: 1000,
        },
        // No secret: the deliverer generates one and keeps it sealed in the secrets bucket.
        { id: 'dead', url: dead.url, retrySchedule: [0, 300] },
      ],
      subscriptions: [
        { id: 'objects', endpoint: 'hook', types: ['object.>'] },
        { id: 'orders', endpoint: 'hook', types: [`mysql.${schema}.orders.*`] },
        { id: 'orders-dead', endpoint: 'dead', types: [`mysql.${schema}.orders.insert`] },
        { id: 'ingested', endpoint: 'hook', types: ['shop.>'] },
        { id: 'operations', endpoint: 'hook', types: ['sluice.>'] },
      ],
      deliverer: { allowNetworks: ['127.0.0.0/8', '::1/128'], retrySchedule: [0, 300] },
      api: { port: 0 },
    });
    const env = { SLUICE_MAIN_KEY: randomBytes(32).toString('base64') };

    // Provisioning, once, as the admin user (`sluice provision`): it creates every stream and bucket;
    // the role users may not.
    {
      await using provision = await spawnSluice(['provision'], { config: config('admin', true), env });
      expect(await provision.exited).toBe(0);
      expect(provision.stdout()).toContain('provisioned the streams and buckets');
    }
    await using create = await spawnSluice(['keys', 'create', '--scope', 'ingest'], {
      config: config('admin'),
    });
    expect(await create.exited, create.stderr()).toBe(0);
    const key = create.stdout().trim();

    await using capture = await spawnSluice(['capture'], { config: config('capture'), env });
    await using router = await spawnSluice(['router'], { config: config('router'), env });
    await using deliverer = await spawnSluice(['deliverer'], { config: config('deliverer'), env });
    await using api = await spawnSluice(['api'], { config: config('api'), env });
    for (const p of [capture, router, deliverer, api]) await p.waitForOutput('sluice is up');
    const apiUrl = /API\s+(http:\/\/\S+)/.exec(api.stdout())?.[1];
    expect(apiUrl, api.stdout()).toBeDefined();

    await db.query(`INSERT INTO ${schema}.orders VALUES (1, 'small')`);
    await db.query(`INSERT INTO ${schema}.orders VALUES (2, ?)`, ['x'.repeat(100_000)]);
    // MinIO's NATS target, as its own user, publishes a bucket notification.
    const minio = await connect({
      servers: server.url,
      user: 'minio',
      pass: minioPassword,
      name: 'test-minio',
    });
    minio.publish('minio.events', await readFile(MINIO_PUT));
    await minio.drain();
    const res = await request(`${apiUrl}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 'o-1',
        source: 'urn:shop',
        type: 'shop.order.created',
        data: {},
      }),
    });
    await res.body.dump();
    expect(res.statusCode).toBe(202);

    // Waits for deliveries; a subject the server refused to a role fails the wait with its log line.
    const delivered = (what: string, done: (ok: RecordedRequest[]) => boolean): Promise<void> =>
      waitFor(
        async () => {
          const refused = violations(await server.log());
          if (refused.length > 0) throw new Error(`the server refused:\n${refused.join('\n')}`);
          return done(hook.requests.filter((r) => r.status === 204));
        },
        { timeoutMs: 45_000, intervalMs: 100, message: what },
      );
    const typeOf = (r: RecordedRequest): unknown => (JSON.parse(r.body) as { type?: unknown }).type;
    const inserted = `mysql.${schema}.orders.insert`;
    await delivered(
      'both rows, the ingested event, the object event and the operational event for dead',
      (ok) =>
        [inserted, 'shop.order.created', 'sluice.delivery.exhausted', 'object.created'].every((t) =>
          ok.some((r) => typeOf(r) === t),
        ) && ok.filter((r) => typeOf(r) === inserted).length >= 2,
    );
    // The large row arrives as a reference to the oversize object store.
    expect(hook.requests.some((r) => r.status === 204 && r.body.includes('"sluiceoversize"'))).toBe(true);
    // One retry on hook (503 first), and every attempt on dead.
    expect(hook.requests.some((r) => r.status === 503)).toBe(true);
    expect(dead.requests.length).toBeGreaterThanOrEqual(2);

    // A restarted capture resumes from its checkpoint: the events stream now holds events of others
    // after it, which its resume scan reads with an ordered consumer.
    expect(await capture.stop()).toBe(0);
    await using resumed = await spawnSluice(['capture'], { config: config('capture'), env });
    await resumed.waitForOutput('sluice is up');
    await db.query(`INSERT INTO ${schema}.orders VALUES (3, 'after the restart')`);
    await delivered('the row inserted after the restart', (ok) =>
      ok.some((r) => r.body.includes('after the restart')),
    );

    // Outside their rights, the roles' users are refused by the server.
    const as = (role: RoleUser): Promise<NatsConnection> =>
      connect({ servers: server.url, user: `sluice-${role}`, pass: passwords[role], name: `test-${role}` });
    const deliv = await as('deliverer');
    const apiNc = await as('api');
    const routerNc = await as('router');
    const captureNc = await as('capture');
    try {
      // The deliverer may publish operational events, not captured ones.
      expect(
        await refusal(jetstream(deliv).publish(`sluice.events.0.mysql.${schema}.orders.insert`, '{}')),
      ).toMatch(/Permissions Violation for Publish/);
      // The api may read API keys, not mint them.
      const keys = await new Kvm(apiNc).create('sluice_apikeys');
      expect(await refusal(keys.put('forged', '{}'))).toMatch(/Permissions Violation for Publish/);
      // The router may not read the deliveries it writes, nor delete a stream.
      const subscribeError = new Promise<string>((resolve) => {
        void (async () => {
          for await (const s of routerNc.status()) if (s.type === 'error') return resolve(s.error.message);
        })();
      });
      routerNc.subscribe('sluice.deliveries.>');
      expect(await subscribeError).toMatch(/Permissions Violation for Subscription to "sluice.deliveries.>"/);
      const jsm = await jetstreamManager(captureNc);
      expect(await refusal(jsm.streams.delete('SLUICE_EVENTS'))).toMatch(/Permissions Violation for Publish/);
      expect(await refusal(jsm.streams.purge('SLUICE_DELIVERIES'))).toMatch(
        /Permissions Violation for Publish/,
      );
      expect((await jsm.streams.info('SLUICE_EVENTS')).state.messages).toBeGreaterThan(0);
    } finally {
      await Promise.all([deliv, apiNc, routerNc, captureNc].map((nc) => nc.close()));
    }
    for (const p of [api, resumed, router, deliverer]) expect(await p.stop()).toBe(0);

    // Nothing the roles did, from start to stop, was refused: the file grants every subject they use.
    // The test's own connections (named test-<role>) were, each for the act tried above.
    const log = violations(await server.log());
    expect(log.filter((l) => !l.includes(':test-'))).toEqual([]);
    const refused = log.join('\n');
    for (const role of ['deliverer', 'api', 'router', 'capture'])
      expect(refused).toContain(`nats.js:test-${role}" - `);
  }, 150_000);

  test('a role with a wrong password exits with SLUICE_NATS_AUTH and the password appears nowhere; one that may not provision says so', async () => {
    await using dir = await tempDir();
    await copyFile(PERMISSIONS_FILE, join(dir.path, 'permissions.conf'));
    const passwords = Object.fromEntries(ROLES.map((r) => [r, `right-${r}`])) as Record<RoleUser, string>;
    await using server = await startConfiguredNats(
      dir.path,
      'include ./permissions.conf\n',
      passwordEnv(passwords),
    );
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    await using router = await spawnSluice(['router'], {
      config: { nats: { url: server.url, user: 'sluice-router', provision: false } },
      env: { SLUICE_NATS_PASS: wrong },
    });
    expect(await router.exited).toBe(1);
    expect(router.stderr()).toContain('SLUICE_NATS_AUTH');
    expect(router.stderr()).toContain('sluice-router');
    expect(router.stdout() + router.stderr()).not.toContain(wrong);

    // The right password, but nats.provision left on: the role user may not create streams.
    await using provisioning = await spawnSluice(['router'], {
      config: { nats: { url: server.url, user: 'sluice-router' } },
      env: { SLUICE_NATS_PASS: passwords.router },
    });
    expect(await provisioning.exited).toBe(1);
    expect(provisioning.stderr()).toContain('SLUICE_NATS_PROVISION');
    expect(provisioning.stderr()).toContain('nats.provision: false');
  });
});
