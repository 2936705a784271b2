import { describe, expect, it } from 'vitest';
import { mysqlSources } from './config-schema.js';
import { buildConfig, envSettings } from './config.js';
import { SECRET_32, problemsOf } from './config.fixture.js';

// SLUICE_* environment variables and ${VAR} interpolation (the rest of the loader: config.test.ts).

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
    expect(mysqlSources(c)[0]!.url).toBe('mysql://sluice:pw@db:3306');
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
