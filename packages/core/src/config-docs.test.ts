import { readFileSync } from 'node:fs';
import { TypeGuard, type TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from './config-schema.js';
import { ErrorCodes } from './errors.js';
import { buildConfig, envSettings, RESERVED_ENV } from './config.js';

// docs/configuration.md must document every setting: adding a key to the schema without a row there
// fails here, and so does a row for a key that no longer exists.
const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');

interface Setting {
  /** `nats.partitions`, `endpoints[].secret` */
  path: string;
  schema: TSchema;
  required: boolean;
  env: string | undefined;
}

function settings(): Setting[] {
  const env = new Map(envSettings().map((s) => [`${s.section}.${s.key}`, s.name]));
  const out: Setting[] = [];
  for (const [section, sectionSchema] of Object.entries(ConfigSchema.properties)) {
    const isList = TypeGuard.IsArray(sectionSchema);
    const item = isList ? sectionSchema.items : sectionSchema;
    // sources[] is a union of kinds: one row per key, documented with the first kind that has it.
    const objects = TypeGuard.IsUnion(item) ? item.anyOf : [item];
    for (const object of objects) {
      if (!TypeGuard.IsObject(object))
        throw new Error(`section ${section} is neither an object nor a list of objects`);
      for (const [key, schema] of Object.entries(object.properties)) {
        const path = `${section}${isList ? '[]' : ''}.${key}`;
        if (out.some((s) => s.path === path)) continue;
        const required: readonly string[] = object.required ?? [];
        out.push({ path, schema, required: required.includes(key), env: env.get(path) });
      }
    }
  }
  return out;
}

/** Cells of every table row in the doc, trimmed (`\\|` inside a cell is not a separator). */
const rows = doc
  .split('\n')
  .filter((line) => line.startsWith('| `'))
  .map((line) =>
    line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );

/** The cells of the table row documenting `path`: the row whose first cell is `` `path` ``. */
function row(path: string): string[] | undefined {
  return rows.find((cells) => cells[0] === `\`${path}\``);
}

function renderDefault(value: unknown): string {
  return typeof value === 'string' ? `\`${value}\`` : `\`${JSON.stringify(value)}\``;
}

const all = settings();

describe('docs/configuration.md', () => {
  it('finds settings in the schema', () => {
    // Guards the walk itself: a broken walk would make every check below vacuous.
    expect(all.length).toBeGreaterThan(40);
    expect(all.map((s) => s.path)).toEqual(
      expect.arrayContaining(['nats.partitions', 'endpoints[].secret', 'subscriptions[].types']),
    );
  });

  it.each(all.map((s) => [s.path, s] as const))('documents %s with its default', (_, setting) => {
    const cells = row(setting.path);
    expect(cells, `no table row for \`${setting.path}\``).toBeDefined();
    // key | type | default | [environment |] meaning
    expect(cells!.length).toBe(setting.path.includes('[]') ? 4 : 5);
    const defaultCell = cells![2]!;
    if ('default' in setting.schema) expect(defaultCell).toContain(renderDefault(setting.schema.default));
    else expect(defaultCell).toBe(setting.required ? 'required' : 'unset');
    expect(cells!.at(-1)!.length, 'meaning').toBeGreaterThan(20);
  });

  it.each(envSettings().map((s) => [s.name, `${s.section}.${s.key}`] as const))(
    'documents %s in the row of %s',
    (env, path) => {
      expect(row(path)?.[3]).toBe(`\`${env}\``);
    },
  );

  it('names no setting that does not exist', () => {
    const known = new Set(all.map((s) => `\`${s.path}\``));
    expect(rows.length).toBe(all.length);
    for (const cells of rows) expect(known, `docs row for unknown setting ${cells[0]}`).toContain(cells[0]);
  });

  it('names no SLUICE_* variable that does not exist', () => {
    const known = new Set([...envSettings().map((s) => s.name), ...RESERVED_ENV]);
    const mentioned = new Set(doc.match(/SLUICE_[A-Z0-9_]+/g) ?? []);
    // Stream names and error codes are not variables.
    const streams = /^SLUICE_(EVENTS|DELIVERIES|RETRIES|DLQ|ATTEMPTS)$/;
    const notVariable = (name: string): boolean => streams.test(name) || name in ErrorCodes;
    const typos = ['SLUICE_NATS_PORT']; // quoted as the example of a rejected typo
    for (const name of mentioned) {
      if (notVariable(name) || typos.includes(name)) continue;
      expect(known, `docs mention ${name}`).toContain(name);
    }
  });

  it('documents precedence, interpolation and SLUICE_CONFIG', () => {
    expect(doc).toMatch(/## Where settings come from/);
    expect(doc).toMatch(/### `\$\{VAR\}` interpolation/);
    expect(doc).toContain('`SLUICE_CONFIG`');
  });

  it('has a full example that is a valid configuration', () => {
    const example = /## Example\n\n```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const secret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    const config = buildConfig(example!, {
      NATS_PASSWORD: 'pw',
      SHOP_DB_PASSWORD: 'pw',
      BILLING_WEBHOOK_SECRET: secret,
      CRM_WEBHOOK_SECRET: secret,
    });
    expect(config.sources.length).toBeGreaterThan(0);
    expect(config.endpoints.length).toBeGreaterThan(0);
    expect(config.subscriptions.length).toBeGreaterThan(0);
  });
});
