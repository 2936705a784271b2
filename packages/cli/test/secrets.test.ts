import { stat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  AckWindowPublisher,
  DeliveryHeaders,
  MainKey,
  buildConfig,
  deliveryId,
  deliverySubject,
  provisionStreams,
} from '@sluice/core';
import { Webhook as SvixWebhook } from 'svix';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  makeTempDir,
  removeTempDir,
  spawnSluice,
  startNats,
  startReceiver,
  uniqueName,
  type RecordedRequest,
} from '@sluice/test-harness';

// The main key as the cli handles it (SLUICE_MAIN_KEY, the laptop key file of `sluice up`), and
// `sluice endpoints secret | rotate-secret` against a real nats-server.

const MISSING_HINT = 'openssl rand -base64 32';
// The endpoints here are on 127.0.0.1, which the network policy refuses unless allowed.
const LOOPBACK = { allowNetworks: ['127.0.0.0/8'] };

async function run(args: string[], config: Record<string, unknown>, env: Record<string, string> = {}) {
  await using p = await spawnSluice(args, { config, env });
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

function verifies(secret: string, r: RecordedRequest): boolean {
  const headers = {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  };
  try {
    new Webhook(secret).verify(r.body, headers);
    new SvixWebhook(secret).verify(r.body, headers);
    return true;
  } catch {
    return false;
  }
}

describe('the main key', () => {
  it('a deliverer with a managed endpoint and no SLUICE_MAIN_KEY exits 1 with SLUICE_MAIN_KEY_MISSING and how to make one', async () => {
    await using nats = await startNats();
    const r = await run(['deliverer'], {
      nats: { url: nats.url, prefix: uniqueName('mk') },
      deliverer: LOOPBACK,
      endpoints: [{ id: 'billing', url: 'http://127.0.0.1:9/' }],
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SLUICE_MAIN_KEY_MISSING');
    expect(r.stderr).toContain(MISSING_HINT);
  });

  it('an invalid SLUICE_MAIN_KEY exits 1 with SLUICE_MAIN_KEY_INVALID, without echoing it', async () => {
    await using nats = await startNats();
    const bad = Buffer.alloc(16, 0x61).toString('base64');
    const r = await run(
      ['deliverer'],
      { nats: { url: nats.url, prefix: uniqueName('mk') }, deliverer: LOOPBACK, endpoints: [] },
      { SLUICE_MAIN_KEY: bad },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SLUICE_MAIN_KEY_INVALID');
    expect(r.stderr).not.toContain(bad);
  });

  it('inline secrets only: no main key needed', async () => {
    await using nats = await startNats();
    await using p = await spawnSluice(['deliverer'], {
      config: {
        nats: { url: nats.url, prefix: uniqueName('mk') },
        deliverer: LOOPBACK,
        endpoints: [
          {
            id: 'billing',
            url: 'http://127.0.0.1:9/',
            secret: `whsec_${Buffer.alloc(32, 3).toString('base64')}`,
          },
        ],
      },
    });
    await p.waitForOutput('sluice is up');
    expect(await p.stop()).toBe(0);
  });

  it('a deliverer with another main key than the one that sealed the secret exits 1 with SLUICE_SECRET_UNREADABLE', async () => {
    await using nats = await startNats();
    const config = {
      nats: { url: nats.url, prefix: uniqueName('mk') },
      deliverer: LOOPBACK,
      endpoints: [{ id: 'billing', url: 'http://127.0.0.1:9/' }],
    };
    const a = MainKey.generate();
    const shown = await run(['endpoints', 'secret', 'billing'], config, { SLUICE_MAIN_KEY: a.toBase64() });
    expect(shown.code).toBe(0);
    const b = MainKey.generate();
    const r = await run(['deliverer'], config, { SLUICE_MAIN_KEY: b.toBase64() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SLUICE_SECRET_UNREADABLE');
    // It names both keys by fingerprint, so that the operator can tell which one is wanted.
    expect(r.stderr).toContain(a.id);
    expect(r.stderr).toContain(b.id);
  });
});

describe('sluice endpoints secret | rotate-secret', () => {
  it('shows one stable managed secret, rotates with an overlap, and prints each new secret once', async () => {
    await using nats = await startNats();
    const key = MainKey.generate().toBase64();
    const config = {
      nats: { url: nats.url, prefix: uniqueName('sec') },
      deliverer: LOOPBACK,
      endpoints: [
        { id: 'billing', url: 'http://127.0.0.1:9/' },
        { id: 'ed', url: 'http://127.0.0.1:9/', signing: 'both' },
        {
          id: 'inline',
          url: 'http://127.0.0.1:9/',
          secret: `whsec_${Buffer.alloc(32, 4).toString('base64')}`,
        },
      ],
    };
    const env = { SLUICE_MAIN_KEY: key };
    const first = await run(['endpoints', 'secret', 'billing', '--json'], config, env);
    expect(first.code).toBe(0);
    const shown = JSON.parse(first.stdout) as {
      secrets: { scheme: string; secret: string; expiresAt?: string }[];
    };
    expect(shown.secrets).toHaveLength(1);
    const old = shown.secrets[0]!.secret;
    expect(old).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    // Asked again: the same secret, not a new one.
    const again = await run(['endpoints', 'secret', 'billing'], config, env);
    expect(again.stdout).toContain(old);

    const rotated = await run(['endpoints', 'rotate-secret', 'billing', '--overlap', '2h'], config, env);
    expect(rotated.code).toBe(0);
    const fresh = rotated.stdout.trim();
    expect(fresh).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(fresh).not.toBe(old);
    expect(rotated.stderr).toMatch(/until \d{4}-\d{2}-\d{2}/);

    const after = JSON.parse(
      (await run(['endpoints', 'secret', 'billing', '--json'], config, env)).stdout,
    ) as {
      secrets: { secret: string; expiresAt?: string }[];
    };
    expect(after.secrets.map((s) => s.secret)).toEqual([fresh, old]);
    expect(after.secrets[0]!.expiresAt).toBeUndefined();
    const expires = Date.parse(after.secrets[1]!.expiresAt!);
    expect(expires - Date.now()).toBeGreaterThan(2 * 3_600_000 - 120_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(2 * 3_600_000);

    // An overlap of 0 ends the previous secrets at once.
    const now = await run(
      ['endpoints', 'rotate-secret', 'billing', '--overlap', '0s', '--json'],
      config,
      env,
    );
    const newest = (JSON.parse(now.stdout) as { new: { secret: string }[] }).new[0]!.secret;
    const listed = await run(['endpoints', 'secret', 'billing', '--json'], config, env);
    expect(
      (JSON.parse(listed.stdout) as { secrets: { secret: string }[] }).secrets.map((s) => s.secret),
    ).toEqual([newest]);

    // signing both: the v1 secret and the whpk_ public key; never the private key.
    const ed = await run(['endpoints', 'secret', 'ed'], config, env);
    expect(ed.code).toBe(0);
    expect(ed.stdout).toMatch(/whsec_/);
    expect(ed.stdout).toMatch(/whpk_[A-Za-z0-9+/]{43}=/);
    expect(ed.stdout + ed.stderr).not.toContain('whsk_');

    // An inline secret is shown as configured, needs no main key, and cannot be rotated by sluice.
    const inline = await run(['endpoints', 'secret', 'inline'], config);
    expect(inline.code).toBe(0);
    expect(inline.stdout).toContain('configuration');
    const refused = await run(['endpoints', 'rotate-secret', 'inline'], config, env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('SLUICE_SECRET_INLINE');

    // Without the key, managed secrets cannot be shown; a bad --overlap is a usage error.
    expect((await run(['endpoints', 'secret', 'billing'], config)).stderr).toContain(
      'SLUICE_MAIN_KEY_MISSING',
    );
    const usage = await run(['endpoints', 'rotate-secret', 'billing', '--overlap', 'soon'], config, env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('SLUICE_USAGE');
  });
});

describe('sluice up on a laptop', () => {
  it('makes <embedded.dataDir>/main.key (0600) once, warns, and the CLI next to it reads the secret it sealed', async () => {
    const dataDir = await makeTempDir('upkey');
    try {
      await using hook = await startReceiver();
      const config = {
        embedded: { dataDir },
        deliverer: { allowNetworks: ['127.0.0.0/8'] },
        endpoints: [{ id: 'hook', url: hook.url }],
        subscriptions: [{ id: 'all', endpoint: 'hook', types: ['>'] }],
      };
      await using up = await spawnSluice(['up'], { config });
      await up.waitForOutput('sluice is up', 60_000);
      expect(up.stderr()).toMatch(/SLUICE_MAIN_KEY is not set: created .*main\.key/);
      const file = join(dataDir, 'main.key');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const natsUrl = /NATS\s+(nats:\/\/\S+)/.exec(up.stdout())![1]!;

      // The CLI finds the key file through the same configuration, with a warning.
      const cli = { ...config, nats: { url: natsUrl } };
      const shown = await run(['endpoints', 'secret', 'hook', '--json'], cli);
      expect(shown.code).toBe(0);
      expect(shown.stderr).toContain('main.key');
      const secret = (JSON.parse(shown.stdout) as { secrets: { secret: string }[] }).secrets[0]!.secret;

      // A delivery the running deliverer signs verifies with it.
      const nc = await import('@nats-io/transport-node').then((m) => m.connect({ servers: natsUrl }));
      try {
        const ns = buildConfig(JSON.stringify(cli), {}).nats;
        await provisionStreams(await jetstreamManager(nc), ns);
        const publisher = new AckWindowPublisher(nc);
        await publisher.publish(
          deliverySubject(ns, 'hook', 0),
          Buffer.from('{"id":"e1"}'),
          deliveryId('e1', 'all'),
          {
            [DeliveryHeaders.eventId]: 'e1',
            [DeliveryHeaders.subscription]: 'all',
            [DeliveryHeaders.endpoint]: 'hook',
          },
        );
        await hook.waitFor(1, { timeoutMs: 20_000 });
        expect(verifies(secret, hook.requests[0]!)).toBe(true);
        await publisher.close();
      } finally {
        await nc.close();
      }
      expect(await up.stop()).toBe(0);

      // Started again: the same key file, no new key.
      const before = await readFile(file, 'utf8');
      await using again = await spawnSluice(['up'], { config });
      await again.waitForOutput('sluice is up', 60_000);
      expect(again.stderr()).toMatch(/SLUICE_MAIN_KEY is not set: using .*main\.key/);
      expect(await again.stop()).toBe(0);
      expect(await readFile(file, 'utf8')).toBe(before);
    } finally {
      await removeTempDir(dataDir);
    }
    // Two starts of `sluice up` with an embedded nats-server: more than the default budget on a busy box.
  }, 150_000);
});
