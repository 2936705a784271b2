import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { AckWindowPublisher, eventSubject, eventsStream, provisionStreams, buildConfig } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/commands.js';
import { freePort } from '@sluice/embedded';
import { spawnSluice, startMysql, startNats, startReceiver, uniqueName } from '@sluice/test-harness';

function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** Runs `sluice <args>` to completion; the process must end by itself. */
async function run(args: string[], config?: Record<string, unknown>, env?: Record<string, string>) {
  await using p = await spawnSluice(args, { ...(config ? { config } : {}), ...(env ? { env } : {}) });
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

describe('sluice: usage', () => {
  it('prints the overview for --help and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: sluice <command> [options]');
    for (const c of COMMANDS) expect(r.stdout).toContain(`  ${c.name} `);
  });

  it('prints each command’s usage for "<command> --help" and exits 0', async () => {
    const results = await Promise.all(COMMANDS.map((c) => run([c.name, '--help'])));
    for (const [i, c] of COMMANDS.entries()) {
      expect({ command: c.name, code: results[i]!.code }).toEqual({ command: c.name, code: 0 });
      expect(results[i]!.stdout).toContain(`usage: ${c.usage}`);
      expect(results[i]!.stdout).toContain('--config');
    }
  });

  it('exits 2 with SLUICE_USAGE for an unknown command or option', async () => {
    const [command, option] = await Promise.all([run(['frobnicate']), run(['router', '--bogus'])]);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('SLUICE_USAGE');
    expect(command.stderr).toContain('frobnicate');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain('SLUICE_USAGE');
    expect(option.stderr).toContain('usage: sluice router');
  });
});

describe('sluice: configuration errors', () => {
  it('exits 1 and lists every problem of an invalid config file at once', async () => {
    const shortSecret = 'whsec_c2hvcnQtc2VjcmV0';
    const r = await run(['router'], {
      nats: { url: 'nats://127.0.0.1:1', partitions: 0, bogus: true },
      deliverer: { retryMinMs: 5_000, breakerOpenMs: 5_000, breakerMaxOpenMs: 100 },
      endpoints: [{ id: 'a', url: 'ftp://example.com/x', secret: shortSecret }],
      subscriptions: [{ id: 's', endpoint: 'missing', types: ['a.>.b'] }],
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SLUICE_CONFIG_INVALID');
    const paths = [
      '/nats/partitions',
      '/nats/bogus',
      '/deliverer/retryMinMs',
      '/deliverer/breakerOpenMs',
      '/endpoints/0/url',
      '/endpoints/0/secret',
      '/subscriptions/0/endpoint',
      '/subscriptions/0/types/0',
    ];
    for (const path of paths) expect(r.stderr).toContain(`  - ${path}: `);
    expect(r.stderr).toContain(`${paths.length} problem(s)`);
    expect(r.stderr).not.toContain(shortSecret.slice('whsec_'.length));
  });

  it('exits 1 with SLUICE_CONFIG_NOT_FOUND for a missing config file', async () => {
    const missing = await run(['router', '--config', '/nonexistent/sluice.yaml']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('SLUICE_CONFIG_NOT_FOUND');
  });

  it.each(['router', 'deliverer', 'capture'])(
    '"sluice %s" without nats.url exits 1 and says what to set',
    async (role) => {
      const r = await run([role], { logging: { level: 'silent' } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('SLUICE_CONFIG_INVALID');
      expect(r.stderr).toContain('nats.url (SLUICE_NATS_URL) is required');
    },
  );
});

describe('sluice doctor', () => {
  it('passes against a reachable NATS and a correctly configured MariaDB', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    const r = await run(['doctor'], {
      nats: { url: nats.url },
      sources: [{ id: 'shop', url: db.captureUrl }],
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.filter((l) => l.startsWith('✘'))).toEqual([]);
    expect(lines.filter((l) => l.startsWith('✔')).length).toBeGreaterThanOrEqual(6);
    expect(r.stdout).toMatch(/^✔ NATS reachable at /m);
    for (const name of ['log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata'])
      expect(r.stdout).toMatch(new RegExp(`^✔ source shop: ${name}$`, 'm'));
    expect(r.stdout).toContain('all checks passed');
  });

  it('fails with a fix for each wrong binlog setting', async () => {
    await using nats = await startNats();
    await using db = await startMysql({
      extraArgs: ['--binlog-format=STATEMENT', '--binlog-row-metadata=MINIMAL'],
    });
    const r = await run(['doctor'], {
      nats: { url: nats.url },
      sources: [{ id: 'shop', url: db.captureUrl }],
    });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const lines = r.stdout.split('\n');
    const format = lines.findIndex(
      (l) =>
        l.startsWith('✘') &&
        l.includes('binlog_format') &&
        l.includes('STATEMENT') &&
        l.includes('[SLUICE_BINLOG_FORMAT]'),
    );
    const metadata = lines.findIndex(
      (l) =>
        l.startsWith('✘') &&
        l.includes('binlog_row_metadata') &&
        l.includes('MINIMAL') &&
        l.includes('[SLUICE_BINLOG_ROW_METADATA]'),
    );
    expect(format, r.stdout).toBeGreaterThanOrEqual(0);
    expect(metadata, r.stdout).toBeGreaterThanOrEqual(0);
    expect(lines[format + 1]).toMatch(/^ {4}fix: .*binlog_format.*ROW/);
    expect(lines[metadata + 1]).toMatch(/^ {4}fix: .*binlog_row_metadata.*FULL/);
    expect(lines.filter((l) => l.startsWith('✘'))).toHaveLength(2);
    expect(r.stdout).toContain('2 check(s) failed');
  });

  it('fails with SLUICE_NATS_CONNECT when nothing listens at nats.url', async () => {
    const port = await freePort();
    const r = await run(['doctor'], { nats: { url: `nats://127.0.0.1:${port}`, connectTimeoutMs: 1_000 } });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`^✘ NATS at nats://127\\.0\\.0\\.1:${port}: .*\\[SLUICE_NATS_CONNECT\\]$`, 'm'),
    );
    expect(r.stdout).toMatch(/^ {4}fix: check nats\.url/m);
  });
});

describe('sluice up', () => {
  it('captures, routes and delivers, then exits 0 on SIGTERM', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    await using hook = await startReceiver();
    const schema = uniqueName('shop');
    await db.query(`CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY)`);
    await using sluice = await spawnSluice(['up'], {
      config: {
        nats: { url: nats.url, prefix: uniqueName('up') },
        sources: [{ id: 'db', url: db.captureUrl, include: [schema] }],
        endpoints: [{ id: 'hook', url: hook.url, secret: newSecret(), allowNetworks: ['127.0.0.1/32'] }],
        subscriptions: [{ id: 'all', endpoint: 'hook', types: ['>'] }],
      },
    });
    await sluice.waitForOutput('sluice is up');
    await db.query(`INSERT INTO ${schema}.t VALUES (1)`);
    await hook.waitFor(1, { timeoutMs: 20_000 });
    expect(await sluice.stop()).toBe(0);
  });

  it('keeps routing and delivering when no source is configured', async () => {
    await using nats = await startNats();
    await using hook = await startReceiver();
    const config = {
      nats: { url: nats.url, prefix: uniqueName('up') },
      endpoints: [{ id: 'hook', url: hook.url, secret: newSecret(), allowNetworks: ['127.0.0.1/32'] }],
      subscriptions: [{ id: 'all', endpoint: 'hook', types: ['>'] }],
    };
    await using sluice = await spawnSluice(['up'], { config });
    await sluice.waitForOutput('sluice is up');
    // Events from another capture process (or, later, the ingest API) still reach the endpoint.
    const ns = buildConfig(JSON.stringify(config), {}).nats;
    const nc = await nats.connect();
    const publisher = new AckWindowPublisher(nc);
    await provisionStreams(await jetstreamManager(nc), ns);
    await publisher.publish(eventSubject(ns, 0, 'ingest.signup'), Buffer.from('{"id":"e1"}'), 'e1');
    await hook.waitFor(1, { timeoutMs: 20_000 });
    expect(hook.requests[0]!.headers['webhook-id']).toBe('e1');
    expect((await (await jetstreamManager(nc)).streams.info(eventsStream(ns))).state.messages).toBe(1);
    await publisher.close();
    expect(await sluice.stop()).toBe(0);
  });
});

describe('secrets stay out of the logs', () => {
  it('never writes an endpoint secret, a webhook-signature or the MySQL password, even at debug level', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    // A retry on the way, so that failure paths log too.
    await using hook = await startReceiver({ status: (_r, i) => (i === 0 ? 503 : 204) });
    const schema = uniqueName('shop');
    await db.query(
      `CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY, note VARCHAR(20))`,
    );
    const secret = newSecret();
    const unused = newSecret();
    await using sluice = await spawnSluice(['up'], {
      config: {
        logging: { level: 'debug' },
        nats: { url: nats.url, prefix: uniqueName('sec') },
        deliverer: { retrySchedule: [0, 50, 100, 200] },
        sources: [{ id: 'db', url: db.captureUrl, include: [schema] }],
        endpoints: [
          { id: 'hook', url: hook.url, secret, allowNetworks: ['127.0.0.1/32'] },
          // An endpoint that fails to connect: its errors are logged, its secret must not be.
          {
            id: 'down',
            url: `http://127.0.0.1:${await freePort()}/`,
            secret: unused,
            connectTimeoutMs: 200,
            timeoutMs: 500,
            allowNetworks: ['127.0.0.1/32'],
          },
        ],
        subscriptions: [
          { id: 'all', endpoint: 'hook', types: ['>'] },
          { id: 'down', endpoint: 'down', types: ['>'] },
        ],
      },
    });
    await sluice.waitForOutput('sluice is up');
    await db.query(`INSERT INTO ${schema}.t VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
    await hook.waitFor(4, { timeoutMs: 20_000 });
    expect(await sluice.stop()).toBe(0);

    const output = sluice.stdout() + sluice.stderr();
    expect(output).toContain('"level":20'); // debug logging was on
    const mysqlPassword = decodeURIComponent(new URL(db.captureUrl).password);
    const forbidden = [
      secret,
      secret.slice('whsec_'.length),
      unused.slice('whsec_'.length),
      mysqlPassword,
      ...hook.requests.flatMap((r) => String(r.headers['webhook-signature']).split(' ')),
      ...hook.requests.flatMap((r) =>
        String(r.headers['webhook-signature'])
          .split(' ')
          .map((s) => s.slice('v1,'.length)),
      ),
    ];
    expect(forbidden.length).toBeGreaterThanOrEqual(12);
    for (const value of forbidden) expect(output.includes(value), `leaked ${value.slice(0, 6)}…`).toBe(false);
  });
});
