import { describe, expect, it } from 'vitest';
import { mysqlSources, s3Sources } from './config-schema.js';
import { buildConfig } from './config.js';
import { problemsOf } from './config.fixture.js';

// sources[] is a union told apart by `kind` (mysql when absent): each item gets the defaults and the
// problems of the kind it names, and every part of sluice that only knows MySQL takes mysqlSources().

const both = `
sources:
  - id: shop
    url: mysql://sluice:pw@db:3306
  - id: media
    kind: s3
    nats: { subject: minio.events }
    buckets: [uploads]
  - id: drop
    kind: s3
`;

describe('sources of two kinds', () => {
  it('fills each kind with its own defaults and nothing of the other', () => {
    const c = buildConfig(both, {});
    expect(c.sources).toEqual([
      {
        id: 'shop',
        kind: 'mysql',
        url: 'mysql://sluice:pw@db:3306',
        serverId: 48_151,
        include: [],
        exclude: [],
      },
      { id: 'media', kind: 's3', nats: { subject: 'minio.events' }, buckets: ['uploads'] },
      { id: 'drop', kind: 's3' },
    ]);
    expect(mysqlSources(c).map((s) => s.id)).toEqual(['shop']);
    expect(s3Sources(c).map((s) => s.id)).toEqual(['media', 'drop']);
  });

  it("reports a key of the other kind against the item's own kind, once", () => {
    expect(problemsOf('sources:\n  - { id: m, kind: s3, url: "mysql://u:p@db:3306" }\n')).toEqual([
      { path: '/sources/0/url', kind: 'unknown-key', message: 'unknown key for this `kind`' },
    ]);
    expect(problemsOf('sources:\n  - { id: s, url: "mysql://u:p@db:3306", buckets: [b] }\n')).toEqual([
      { path: '/sources/0/buckets', kind: 'unknown-key', message: 'unknown key for this `kind`' },
    ]);
  });

  it('names the kinds there are for an unknown one', () => {
    expect(problemsOf('sources:\n  - { id: p, kind: postgres }\n')).toEqual([
      { path: '/sources/0/kind', kind: 'type', message: 'expected one of mysql, s3' },
    ]);
  });

  it('checks the s3 keys', () => {
    const problems = problemsOf(`
sources:
  - { id: a, kind: s3, nats: { subject: "minio events" } }
  - { id: b, kind: s3, nats: {} }
  - { id: c, kind: s3, buckets: [] }
  - { id: d, kind: s3, buckets: ["a b"] }
  - { id: e, kind: s3, nats: { subject: minio.x, queue: q } }
`);
    expect(problems.map((p) => [p.path, p.kind])).toEqual([
      ['/sources/0/nats/subject', 'format'],
      ['/sources/1/nats/subject', 'required'],
      ['/sources/2/buckets', 'range'],
      ['/sources/3/buckets/0', 'format'],
      ['/sources/4/nats/queue', 'unknown-key'],
    ]);
  });

  it("refuses a subject inside sluice's or NATS's namespaces, and one shared by two sources", () => {
    const problems = problemsOf(`
nats: { prefix: acme }
sources:
  - { id: a, kind: s3, nats: { subject: acme.events.minio } }
  - { id: b, kind: s3, nats: { subject: "$JS.API.x" } }
  - { id: c, kind: s3, nats: { subject: minio.events } }
  - { id: d, kind: s3, nats: { subject: minio.events } }
`);
    expect(problems.map((p) => [p.path, p.kind])).toEqual([
      ['/sources/0/nats/subject', 'format'],
      ['/sources/1/nats/subject', 'format'],
      ['/sources/3/nats/subject', 'duplicate'],
    ]);
    // Wildcards MinIO never publishes to are still a valid stream subject.
    expect(() =>
      buildConfig('sources:\n  - { id: w, kind: s3, nats: { subject: "minio.*.>" } }\n', {}),
    ).not.toThrow();
  });

  it('keeps source ids unique over both kinds', () => {
    expect(
      problemsOf('sources:\n  - { id: x, url: "mysql://u:p@db:3306" }\n  - { id: x, kind: s3 }\n'),
    ).toEqual([{ path: '/sources/1/id', kind: 'duplicate', message: 'duplicate id "x"' }]);
  });
});
