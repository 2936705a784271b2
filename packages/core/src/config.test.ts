import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig, loadConfig, type ConfigProblem } from './config.js';
import { SluiceError } from './errors.js';
import { SECRET, SECRET_32, codeOf, problemsOf } from './config.fixture.js';

const endpointsYaml = `
endpoints:
  - id: billing
    url: https://billing.internal/hooks
    secret: ${SECRET_32}
`;

describe('defaults', () => {
  it('applies every default to an empty file', () => {
    const c = buildConfig('', {});
    expect(c.nats).toEqual({
      prefix: 'sluice',
      partitions: 16,
      replicas: 1,
      eventsMaxAgeMs: 604_800_000,
      eventsMaxBytes: -1,
      deliveriesMaxAgeMs: 1_209_600_000,
      deliveriesMaxBytes: -1,
      retriesMaxAgeMs: 1_209_600_000,
      dlqMaxAgeMs: 2_592_000_000,
      dlqMaxBytes: -1,
      attemptsMaxAgeMs: 604_800_000,
      attemptsMaxBytes: 1_073_741_824,
      duplicateWindowMs: 120_000,
      connectTimeoutMs: 5_000,
      tls: false,
      tlsHandshakeFirst: false,
      provision: true,
    });
    expect(c.logging).toEqual({ level: 'info', pretty: false });
    expect(c.embedded).toEqual({ dataDir: '.sluice', initSql: [] });
    expect(c.capture.publishWindow).toBe(1024);
    expect(c.router.ackWaitMs).toBe(30_000);
    expect(c.deliverer.concurrency).toBe(128);
    expect(c.deliverer.retrySchedule).toEqual([
      0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000,
    ]);
    expect(c.deliverer.disableAfterMs).toBe(5 * 24 * 3600_000);
    expect(c.sources).toEqual([]);
    expect(c.endpoints).toEqual([]);
    expect(c.subscriptions).toEqual([]);
  });

  it('fills defaults inside sources[] and endpoints[] items', () => {
    const c = buildConfig(
      `
sources:
  - id: shop
    url: mysql://sluice:pw@db:3306
  - id: legacy
    serverId: 7
    include: [shop.orders]
${endpointsYaml}`,
      {},
    );
    expect(c.sources[0]).toEqual({
      id: 'shop',
      kind: 'mysql',
      url: 'mysql://sluice:pw@db:3306',
      serverId: 48_151,
      include: [],
      exclude: [],
    });
    expect(c.sources[1]).toEqual({
      id: 'legacy',
      kind: 'mysql',
      serverId: 7,
      include: ['shop.orders'],
      exclude: [],
    });
    expect(c.endpoints[0]).toEqual({
      id: 'billing',
      url: 'https://billing.internal/hooks',
      secret: SECRET_32,
      timeoutMs: 10_000,
      connectTimeoutMs: 5_000,
      enabled: true,
      maxInFlight: 64,
      signing: 'v1',
    });
  });

  it('keeps file values over defaults', () => {
    const c = buildConfig('nats:\n  partitions: 32\nlogging:\n  level: debug\n', {});
    expect(c.nats.partitions).toBe(32);
    expect(c.nats.replicas).toBe(1);
    expect(c.logging.level).toBe('debug');
  });

  it('accepts a documented-looking secret', () => {
    expect(buildConfig(endpointsYaml.replace(SECRET_32, SECRET), {}).endpoints[0]!.secret).toBe(SECRET);
  });
});

describe('validation', () => {
  it('reports every problem of a bad file in ONE SLUICE_CONFIG_INVALID', () => {
    const text = `
verbose: true
nats:
  partitons: 32
  replicas: three
logging:
  level: loud
endpoints:
  - id: billing
    url: https://billing.internal/hooks
    secret: whsec_c2hvcnQ=
  - id: billing
    url: https://other.internal/hooks
    secret: ${SECRET_32}
    retries: 5
  - id: crm
    url: ftp://crm.internal/
    secret: not-a-secret
subscriptions:
  - id: orders
    endpoint: shipping
    types: ["mysql.shop.>.insert", "mysql.shop.orders.*"]
`;
    let error: SluiceError | undefined;
    try {
      buildConfig(text, {}, 'sluice.yaml');
    } catch (err) {
      error = err as SluiceError;
    }
    expect(error).toBeInstanceOf(SluiceError);
    expect(error!.code).toBe('SLUICE_CONFIG_INVALID');
    const problems = error!.details!.problems as ConfigProblem[];
    const expected: [string, string][] = [
      ['/verbose', 'unknown-key'],
      ['/nats/partitons', 'unknown-key'],
      ['/nats/replicas', 'type'],
      ['/logging/level', 'type'],
      ['/endpoints/0/secret', 'format'],
      ['/endpoints/1/id', 'duplicate'],
      ['/endpoints/1/retries', 'unknown-key'],
      ['/endpoints/2/url', 'format'],
      ['/endpoints/2/secret', 'format'],
      ['/subscriptions/0/endpoint', 'reference'],
      ['/subscriptions/0/types/0', 'format'],
    ];
    expect(problems.map((p) => [p.path, p.kind]).sort()).toEqual(expected.sort());
    for (const [path, kind] of expected)
      expect(error!.message).toMatch(new RegExp(`^  - ${path}: .* \\[${kind}\\]$`, 'm'));
    expect(error!.message).toMatch(/^sluice\.yaml has 11 problem\(s\):/);
  });

  it('names the replacement of a renamed setting, once, instead of calling it unknown', () => {
    const problems = problemsOf('deliverer: { retryMinMs: 10, retryMaxMs: 20, maxAckPending: 5 }');
    expect(problems).toEqual([
      {
        path: '/deliverer/retryMinMs',
        kind: 'renamed',
        message: expect.stringContaining('deliverer.retrySchedule'),
      },
      {
        path: '/deliverer/retryMaxMs',
        kind: 'renamed',
        message: expect.stringContaining('deliverer.retrySchedule'),
      },
      {
        path: '/deliverer/maxAckPending',
        kind: 'renamed',
        message: expect.stringContaining('endpoints[].maxInFlight'),
      },
    ]);
  });

  it('reads a list of numbers from the environment, comma-separated or as JSON', () => {
    const env = (v: string) =>
      buildConfig('', { SLUICE_DELIVERER_RETRY_SCHEDULE: v }).deliverer.retrySchedule;
    expect(env('0, 100,200')).toEqual([0, 100, 200]);
    expect(env('[0, 5000]')).toEqual([0, 5000]);
    expect(() => env('0,soon')).toThrow(/retrySchedule/);
  });

  it('rejects unknown keys at every level', () => {
    const problems = problemsOf(`
extra: 1
nats: { x: 1 }
logging: { x: 1 }
embedded: { x: 1 }
capture: { x: 1 }
router: { x: 1 }
deliverer: { x: 1 }
sources: [{ id: s, x: 1 }]
endpoints: [{ id: e, url: "https://e.example/", secret: ${SECRET_32}, x: 1 }]
subscriptions: [{ id: sub, endpoint: e, types: [">"], x: 1 }]
`);
    expect(
      problems
        .filter((p) => p.kind === 'unknown-key')
        .map((p) => p.path)
        .sort(),
    ).toEqual(
      [
        '/extra',
        '/nats/x',
        '/logging/x',
        '/embedded/x',
        '/capture/x',
        '/router/x',
        '/deliverer/x',
        '/sources/0/x',
        '/endpoints/0/x',
        '/subscriptions/0/x',
      ].sort(),
    );
    expect(problems).toHaveLength(10);
  });

  it('reports a missing required key once', () => {
    // `secret` is optional (absent: a managed secret, docs/signing.md); `url` is not.
    expect(problemsOf('endpoints:\n  - id: e\n')).toEqual([
      { path: '/endpoints/0/url', kind: 'required', message: 'is required' },
    ]);
  });

  it('names the allowed values of an enumeration', () => {
    expect(problemsOf('logging: { level: loud }')[0]!.message).toBe(
      'expected one of fatal, error, warn, info, debug, trace, silent',
    );
  });

  it('checks ranges, references between settings and URLs', () => {
    const problems = problemsOf(`
nats: { partitions: 0, prefix: Sluice }
capture: { reconnectMinMs: 5000, reconnectMaxMs: 1000 }
deliverer: { breakerOpenMs: 30, breakerMaxOpenMs: 20, retrySchedule: [5, 10] }
sources:
  - id: shop
    url: postgres://db/shop
endpoints:
  - id: e
    url: https://user:pw@e.example/
    secret: ${SECRET_32}
  - id: "bad id"
    url: not a url
    secret: whsec_${Buffer.alloc(80).toString('base64')}
subscriptions:
  - { id: s, endpoint: e, types: [] }
`);
    expect(problems.map((p) => [p.path, p.kind]).sort()).toEqual(
      [
        ['/nats/partitions', 'range'],
        ['/nats/prefix', 'format'],
        ['/capture/reconnectMinMs', 'range'],
        ['/deliverer/breakerOpenMs', 'range'],
        ['/deliverer/retrySchedule/0', 'range'],
        ['/sources/0/url', 'format'],
        ['/endpoints/0/url', 'format'],
        ['/endpoints/1/id', 'format'],
        ['/endpoints/1/url', 'format'],
        ['/endpoints/1/secret', 'format'],
        ['/subscriptions/0/types', 'range'],
      ].sort(),
    );
  });

  it('rejects a file that is not a mapping', () => {
    expect(problemsOf('- a\n- b\n')).toEqual([expect.objectContaining({ path: '/', kind: 'type' })]);
  });

  it('reports wrongly shaped sections and items instead of crashing', () => {
    const problems = problemsOf(
      'nats: 5\nsources: [7]\nendpoints: { id: e }\nsubscriptions: [{ id: s, endpoint: 1, types: x }]\n',
      {
        SLUICE_NATS_PARTITIONS: '8',
      },
    );
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining([
        '/nats',
        '/sources/0',
        '/endpoints',
        '/subscriptions/0/endpoint',
        '/subscriptions/0/types',
      ]),
    );
  });

  it('rejects a mapping where a list is expected', () => {
    // Value.Default would Object.assign the mapping onto the [] default and let it pass as no endpoints.
    const problems = problemsOf(`
endpoints:
  id: billing
  url: https://billing.internal/hooks
  secret: ${SECRET_32}
embedded:
  initSql: { a: SELECT 1 }
sources:
  - id: shop
    include: { shop: orders }
`);
    expect(problems).toEqual([
      { path: '/embedded/initSql', kind: 'type', message: expect.stringContaining('expected a list') },
      { path: '/sources/0/include', kind: 'type', message: expect.stringContaining('expected a list') },
      { path: '/endpoints', kind: 'type', message: expect.stringContaining('expected a list') },
    ]);
  });

  it('accepts valid type patterns', () => {
    const c = buildConfig(
      `${endpointsYaml}subscriptions:\n  - { id: s, endpoint: billing, types: [">", "mysql.*.orders.*", "order.created"] }\n`,
      {},
    );
    expect(c.subscriptions[0]!.types).toEqual(['>', 'mysql.*.orders.*', 'order.created']);
  });
});

describe('loadConfig', () => {
  it('reads a file, then applies the environment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-config-'));
    try {
      const path = join(dir, 'sluice.yaml');
      await writeFile(path, 'nats:\n  partitions: 32\n  prefix: shop\n');
      const c = await loadConfig({ path, env: { SLUICE_NATS_PARTITIONS: '8' } });
      expect(c.nats.partitions).toBe(8);
      expect(c.nats.prefix).toBe('shop');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('uses only defaults and environment without a file', async () => {
    const c = await loadConfig({ env: { SLUICE_NATS_URL: 'nats://n:4222' } });
    expect(c.nats.url).toBe('nats://n:4222');
    expect((await loadConfig()).nats.partitions).toBe(16);
  });

  it('names a missing file SLUICE_CONFIG_NOT_FOUND, keeping the cause', async () => {
    const path = join(tmpdir(), 'sluice-does-not-exist', 'sluice.yaml');
    const err = (await loadConfig({ path }).catch((e: unknown) => e)) as SluiceError;
    expect(err).toBeInstanceOf(SluiceError);
    expect(err.code).toBe('SLUICE_CONFIG_NOT_FOUND');
    expect(err.message).toContain(path);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('names a file with the path in its problems report', async () => {
    const err = (await loadConfig({ text: 'nats: { bogus: 1 }', path: 'ops/sluice.yaml' }).catch(
      (e: unknown) => e,
    )) as SluiceError;
    expect(err.code).toBe('SLUICE_CONFIG_INVALID');
    expect(err.message).toMatch(/^ops\/sluice\.yaml has 1 problem/);
  });
});

describe('parse errors', () => {
  it.each([
    ['an unclosed flow sequence', 'nats: [unclosed\n'],
    ['tab indentation', 'nats:\n\tpartitions: 3\n'],
    ['a duplicate key', 'nats: {}\nnats: {}\n'],
    ['an unterminated string', 'nats:\n  url: "nats://x\n'],
  ])('reports %s as SLUICE_CONFIG_PARSE', (_, text) => {
    expect(codeOf(() => buildConfig(text, {}))).toBe('SLUICE_CONFIG_PARSE');
  });

  it('keeps the parser error as the cause and names the line and column', () => {
    let err: SluiceError | undefined;
    try {
      buildConfig('nats:\n  partitions: 3\n  url: [x\n', {}, 'sluice.yaml');
    } catch (e) {
      err = e as SluiceError;
    }
    expect(err?.code).toBe('SLUICE_CONFIG_PARSE');
    expect(err?.message).toMatch(/^sluice\.yaml is not valid YAML:\n {2}- line \d+, column \d+: /);
    expect(err?.cause).toBeInstanceOf(Error);
  });
});

describe('the result', () => {
  it('is deep-frozen', () => {
    const c = buildConfig(`${endpointsYaml}embedded: { initSql: ["SELECT 1"] }\n`, {});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.nats)).toBe(true);
    expect(Object.isFrozen(c.endpoints)).toBe(true);
    expect(Object.isFrozen(c.endpoints[0])).toBe(true);
    expect(Object.isFrozen(c.embedded.initSql)).toBe(true);
    expect(() => {
      (c.nats as { partitions: number }).partitions = 1;
    }).toThrow(TypeError);
    expect(() => {
      (c.endpoints as unknown as unknown[]).push({});
    }).toThrow(TypeError);
  });

  it('is a fresh object per call', () => {
    expect(buildConfig('', {})).not.toBe(buildConfig('', {}));
    expect(buildConfig('', {})).toEqual(buildConfig('', {}));
  });
});
