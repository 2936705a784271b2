import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConfig, envSettings, loadConfig, type ConfigProblem } from './config.js';
import { SluiceError } from './errors.js';

// 32 bytes, base64: a valid Standard Webhooks secret.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SECRET_32 = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

function problemsOf(text: string, env: Record<string, string> = {}): ConfigProblem[] {
  try {
    buildConfig(text, env);
  } catch (err) {
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).code).toBe('SLUICE_CONFIG_INVALID');
    return (err as SluiceError).details!.problems as ConfigProblem[];
  }
  throw new Error('expected SLUICE_CONFIG_INVALID');
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as SluiceError).code;
  }
  return undefined;
}

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
      duplicateWindowMs: 120_000,
      connectTimeoutMs: 5_000,
    });
    expect(c.logging).toEqual({ level: 'info', pretty: false });
    expect(c.embedded).toEqual({ dataDir: '.sluice', initSql: [] });
    expect(c.capture.publishWindow).toBe(1024);
    expect(c.router.ackWaitMs).toBe(30_000);
    expect(c.deliverer.concurrency).toBe(128);
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

describe('SLUICE_* environment', () => {
  it('wins over the file', () => {
    const c = buildConfig('nats:\n  partitions: 32\n  url: nats://file:4222\n', {
      SLUICE_NATS_PARTITIONS: '64',
      SLUICE_NATS_URL: 'nats://env:4222',
    });
    expect(c.nats.partitions).toBe(64);
    expect(c.nats.url).toBe('nats://env:4222');
  });

  it('coerces numbers, booleans and lists', () => {
    const c = buildConfig('', {
      SLUICE_NATS_DUPLICATE_WINDOW_MS: '300000',
      SLUICE_LOGGING_PRETTY: 'true',
      SLUICE_LOGGING_LEVEL: 'warn',
      SLUICE_EMBEDDED_INIT_SQL: 'CREATE DATABASE a, CREATE DATABASE b',
      SLUICE_DELIVERER_CONNECTIONS_PER_ORIGIN: '8',
    });
    expect(c.nats.duplicateWindowMs).toBe(300_000);
    expect(c.logging.pretty).toBe(true);
    expect(c.logging.level).toBe('warn');
    expect(c.embedded.initSql).toEqual(['CREATE DATABASE a', 'CREATE DATABASE b']);
    expect(c.deliverer.connectionsPerOrigin).toBe(8);
    expect(buildConfig('logging: { pretty: true }', { SLUICE_LOGGING_PRETTY: '0' }).logging.pretty).toBe(
      false,
    );
  });

  it('reads a JSON array for list settings whose items contain commas', () => {
    const c = buildConfig('', { SLUICE_EMBEDDED_INIT_SQL: '["INSERT INTO t VALUES (1, 2)", "SELECT 1"]' });
    expect(c.embedded.initSql).toEqual(['INSERT INTO t VALUES (1, 2)', 'SELECT 1']);
  });

  it('reports every bad value once, against the variable', () => {
    const problems = problemsOf('', {
      SLUICE_NATS_PARTITIONS: 'many',
      SLUICE_NATS_REPLICAS: '',
      SLUICE_LOGGING_PRETTY: 'yes',
      SLUICE_EMBEDDED_INIT_SQL: '[1, 2]',
      SLUICE_CAPTURE_PUBLISH_WINDOW: '0',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'env:SLUICE_NATS_PARTITIONS', kind: 'type' }),
        expect.objectContaining({ path: 'env:SLUICE_NATS_REPLICAS', kind: 'type' }),
        expect.objectContaining({ path: 'env:SLUICE_LOGGING_PRETTY', kind: 'type' }),
        expect.objectContaining({ path: 'env:SLUICE_EMBEDDED_INIT_SQL', kind: 'type' }),
        // Coerces fine, then fails the schema's minimum.
        expect.objectContaining({ path: '/capture/publishWindow', kind: 'range' }),
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('rejects an integer setting given a fraction', () => {
    expect(problemsOf('', { SLUICE_NATS_PARTITIONS: '1.5' })).toEqual([
      expect.objectContaining({ path: '/nats/partitions', kind: 'type' }),
    ]);
  });

  it('rejects unknown SLUICE_* variables and ignores others', () => {
    expect(
      problemsOf('', { SLUICE_FOO: '1', SLUICE_NATS_PORT: '4222', PATH: '/bin', NATS_URL: 'x' }),
    ).toEqual([
      expect.objectContaining({ path: 'env:SLUICE_FOO', kind: 'unknown-key' }),
      expect.objectContaining({ path: 'env:SLUICE_NATS_PORT', kind: 'unknown-key' }),
    ]);
  });

  it('does not treat SLUICE_CONFIG as a setting', () => {
    expect(buildConfig('', { SLUICE_CONFIG: '/etc/sluice.yaml' }).nats.prefix).toBe('sluice');
  });

  it('maps every variable to one section key', () => {
    const names = envSettings().map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('SLUICE_NATS_EVENTS_MAX_AGE_MS');
    expect(names).toContain('SLUICE_EMBEDDED_DATA_DIR');
    expect(names.every((n) => /^SLUICE_[A-Z0-9_]+$/.test(n))).toBe(true);
  });
});

describe('${VAR} interpolation', () => {
  it('replaces placeholders from the environment, anywhere in a string', () => {
    const c = buildConfig(
      `
nats:
  url: nats://\${NATS_HOST}:4222
  token: \${NATS_TOKEN}
sources:
  - id: shop
    url: mysql://sluice:\${DB_PASSWORD}@db:3306
endpoints:
  - id: billing
    url: https://billing.internal/hooks
    secret: \${BILLING_SECRET}
`,
      { NATS_HOST: 'nats1', NATS_TOKEN: 's3cr3t', DB_PASSWORD: 'pw', BILLING_SECRET: SECRET_32 },
    );
    expect(c.nats.url).toBe('nats://nats1:4222');
    expect(c.nats.token).toBe('s3cr3t');
    expect(c.sources[0]!.url).toBe('mysql://sluice:pw@db:3306');
    expect(c.endpoints[0]!.secret).toBe(SECRET_32);
  });

  it('reports every missing variable with its path', () => {
    const problems = problemsOf(
      'nats:\n  url: nats://${NATS_HOST}:${NATS_PORT}\nembedded:\n  initSql: ["${SQL}"]\n',
    );
    expect(problems).toEqual([
      expect.objectContaining({
        path: '/nats/url',
        kind: 'env',
        message: expect.stringContaining('${NATS_HOST}'),
      }),
      expect.objectContaining({
        path: '/nats/url',
        kind: 'env',
        message: expect.stringContaining('${NATS_PORT}'),
      }),
      expect.objectContaining({
        path: '/embedded/initSql/0',
        kind: 'env',
        message: expect.stringContaining('${SQL}'),
      }),
    ]);
  });

  it('leaves text that is not a placeholder alone', () => {
    const c = buildConfig("embedded:\n  initSql: [\"SELECT '$5', '${not closed'\"]\n", {});
    expect(c.embedded.initSql).toEqual(["SELECT '$5', '${not closed'"]);
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
    expect(problemsOf('endpoints:\n  - id: e\n    url: https://e.example/\n')).toEqual([
      { path: '/endpoints/0/secret', kind: 'required', message: 'is required' },
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
deliverer: { retryMinMs: 10, retryMaxMs: 1 }
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
        ['/deliverer/retryMinMs', 'range'],
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

  it('keeps the parser error as the cause and names the line', () => {
    let err: SluiceError | undefined;
    try {
      buildConfig('nats:\n  partitions: 3\n  url: [x\n', {}, 'sluice.yaml');
    } catch (e) {
      err = e as SluiceError;
    }
    expect(err?.code).toBe('SLUICE_CONFIG_PARSE');
    expect(err?.message).toMatch(/^sluice\.yaml is not valid YAML at line \d+/);
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
