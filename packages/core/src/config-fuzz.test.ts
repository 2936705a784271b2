import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TypeGuard, type TObject } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigSchema, ENV_SECTIONS, type Config } from './config-schema.js';
import { buildConfig, envSettings, loadConfig, RESERVED_ENV } from './config.js';
import { SECRET_32 } from './config.fixture.js';
import { SluiceError } from './errors.js';

// Fuzzing of configuration input: whatever the file or the SLUICE_* environment holds, loading either
// returns a deep-frozen configuration that passes the schema, or throws a SluiceError with a
// SLUICE_CONFIG_* code — never another exception, never a hang (the test timeout), and never a change
// to Object.prototype. Runs are bounded: RUNS per property. One file on purpose: the generators of
// hostile values are shared by the file, YAML and environment properties.

const RUNS = 300;
const TIMEOUT_MS = 120_000;

// --- What "handled" means ---------------------------------------------------------------------------

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();
const ARRAY_PROTO_NAMES = Object.getOwnPropertyNames(Array.prototype).sort();

function prototypesUntouched(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_NAMES);
  expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(ARRAY_PROTO_NAMES);
  const probe = {} as Record<string, unknown>;
  for (const key of ['polluted', 'isAdmin', 'url', 'nats', 'id', 'secret', 'x'])
    expect(probe[key], `Object.prototype.${key}`).toBeUndefined();
}

function isDeepFrozen(v: unknown, seen = new Set<unknown>()): boolean {
  if (v === null || typeof v !== 'object' || seen.has(v)) return true;
  seen.add(v);
  return Object.isFrozen(v) && Object.values(v).every((x) => isDeepFrozen(x, seen));
}

/** Runs one load; fails the property unless it is one of the two allowed outcomes. */
function handled(load: () => Config): void {
  let config: Config;
  try {
    config = load();
  } catch (err) {
    if (!(err instanceof SluiceError) || !err.code.startsWith('SLUICE_CONFIG_')) throw err;
    expect(typeof err.message).toBe('string');
    if (err.code === 'SLUICE_CONFIG_INVALID')
      expect((err.details?.problems as unknown[] | undefined)?.length).toBeGreaterThan(0);
    prototypesUntouched();
    return;
  }
  expect(isDeepFrozen(config)).toBe(true);
  expect(Value.Check(ConfigSchema, config)).toBe(true);
  for (const n of numbersIn(config)) {
    expect(Number.isFinite(n), `number ${n}`).toBe(true);
    if (Number.isInteger(n)) expect(Number.isSafeInteger(n), `integer ${n}`).toBe(true);
  }
  prototypesUntouched();
}

function numbersIn(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (v === null || typeof v !== 'object') return [];
  return Object.values(v).flatMap(numbersIn);
}

async function handledAsync(load: () => Promise<Config>): Promise<void> {
  let result: { ok: Config } | { err: unknown };
  try {
    result = { ok: await load() };
  } catch (err) {
    result = { err };
  }
  handled(() => {
    if ('err' in result) throw result.err;
    return result.ok;
  });
}

// --- Inputs ----------------------------------------------------------------------------------------

/** Every key the schema knows, section by section, so that generated objects reach deep validation. */
const SCHEMA_KEYS = (() => {
  const keys = new Set<string>(Object.keys(ConfigSchema.properties));
  for (const section of Object.values(ConfigSchema.properties)) {
    const item = TypeGuard.IsArray(section) ? section.items : section;
    const objects = TypeGuard.IsUnion(item) ? item.anyOf : [item];
    for (const o of objects)
      if (TypeGuard.IsObject(o)) for (const k of Object.keys((o as TObject).properties)) keys.add(k);
  }
  return [...keys];
})();

const DANGEROUS_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
];

const key = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...SCHEMA_KEYS) },
  { weight: 2, arbitrary: fc.constantFrom(...DANGEROUS_KEYS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
);

const weirdString = fc.oneof(
  fc.constantFrom(
    '',
    'NaN',
    '.nan',
    'Infinity',
    '-Infinity',
    '.inf',
    '1e400',
    '-0',
    '0x1f',
    '9007199254740993',
    'null',
    '~',
    'true',
    'yes',
    '${UNSET_VARIABLE}',
    '${SLUICE_X}',
    '${}',
    '$${A}',
    'a\r\nb: c',
    'line\u0000null',
    '\u2028\u2029',
    '\uFEFF',
    '\uD800',
    'nats://u:p@127.0.0.1:4222',
    'mysql://root@127.0.0.1:1',
    'http://[::ffff:127.0.0.1]/',
    SECRET_32,
    'whsec_',
    'x'.repeat(100_000),
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

const leaf = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    2 ** 53 + 1,
    2 ** 64,
    1e308,
    Number.MIN_VALUE,
    Number.MAX_SAFE_INTEGER,
  ),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.boolean(),
  fc.constant(null),
  weirdString,
);

/** JSON-like values whose object keys include schema keys and `__proto__`, `constructor`, `prototype`. */
const { value: jsonLike } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 6 }),
    // Object.fromEntries defines own properties: `__proto__` becomes a key, not the prototype.
    fc.array(fc.tuple(key, tie('value')), { maxLength: 8 }).map((entries) => Object.fromEntries(entries)),
  ),
}));

/** A valid configuration to damage: one object per list, so that item validation is reached too. */
const VALID = {
  nats: { url: 'nats://127.0.0.1:4222', prefix: 'fz' },
  sources: [{ id: 'shop', url: 'mysql://u:p@127.0.0.1:3306', include: ['shop.orders'] }],
  endpoints: [{ id: 'hook', url: 'https://hooks.example.com/x', secret: SECRET_32 }],
  subscriptions: [{ id: 'all', endpoint: 'hook', types: ['>'] }],
} as const;

/** The valid configuration with random values put at random places, and random keys added. */
const damaged = fc
  .array(fc.tuple(fc.array(fc.oneof(key, fc.nat({ max: 2 })), { minLength: 1, maxLength: 4 }), jsonLike), {
    minLength: 1,
    maxLength: 6,
  })
  .map((edits) => {
    const root = structuredClone(VALID) as unknown as Record<string, unknown>;
    for (const [path, value] of edits) {
      let at: Record<string | number, unknown> = root;
      for (const step of path.slice(0, -1)) {
        // Own properties only: reading `__proto__` would walk into (and damage) a real prototype.
        const next = Object.hasOwn(at, step) ? at[step] : undefined;
        if (next === null || typeof next !== 'object') break;
        at = next as Record<string | number, unknown>;
      }
      // defineProperty, so that a `__proto__` step adds a key instead of replacing the prototype.
      Object.defineProperty(at, path.at(-1)!, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return root;
  });

/** YAML source text: the YAML and JSON forms of generated values. */
function yamlOf(value: unknown): string {
  try {
    return stringify(value, { aliasDuplicateObjects: false });
  } catch {
    return String(value);
  }
}

const YAML_PIECES = [
  'nats:',
  'sources:',
  'endpoints:',
  'subscriptions:',
  'deliverer:',
  '  url: ',
  '  partitions: ',
  '- ',
  '  - id: ',
  '\n',
  '\r\n',
  '  ',
  '\t',
  ': ',
  '{',
  '}',
  '[',
  ']',
  ',',
  '&a ',
  '*a',
  '<<: *a',
  '!!binary ',
  '!!js/function ',
  '!custom ',
  '? ',
  '|',
  '>-',
  '#',
  '---\n',
  '...\n',
  '%YAML 1.2\n',
  '%TAG ! tag:x,2000:\n',
  '"',
  "'",
  '\\u0000',
  '\\x80',
  '__proto__: ',
  'constructor: ',
  'prototype: ',
  '.nan',
  '.inf',
  '1e400',
  '0x7f',
  '0o17',
  '${A}',
  'polluted: true',
  'x',
  '1',
];

const yamlText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 400 }),
  fc.array(fc.constantFrom(...YAML_PIECES), { maxLength: 80 }).map((p) => p.join('')),
  jsonLike.map(yamlOf),
  jsonLike.map(
    (v) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? '',
  ),
);

const ENV_NAMES = [...envSettings().map((s) => s.name), ...RESERVED_ENV];

const envName = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...ENV_NAMES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((s) => `SLUICE_${s}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('SLUICE_', 'SLUICE___PROTO__', 'SLUICE_NATS___PROTO__', 'A', 'UNSET_VARIABLE'),
  },
);

const envValue = fc.oneof(
  weirdString,
  fc.constantFrom('[', '[]', '[1,', '["a"]', '[1, 2]', '[{"a":1}]', '[null]', ' 5 ', '1.5', 'true', '0', '1'),
  fc.constantFrom('1e30', '9007199254740993', '[0, 1e300]', '-1e300', '5e-324'),
  fc.integer().map(String),
);

const envMap = fc
  .array(fc.tuple(envName, fc.option(envValue, { nil: undefined })), { maxLength: 12 })
  .map((entries) => Object.fromEntries(entries) as Record<string, string | undefined>);

// --- Properties ------------------------------------------------------------------------------------

describe('configuration fuzzing', () => {
  it(
    'arbitrary YAML text',
    () => {
      fc.assert(
        fc.property(yamlText, (text) => handled(() => buildConfig(text, {}))),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'arbitrary JSON-like documents, and a valid configuration with random damage',
    () => {
      fc.assert(
        fc.property(fc.oneof(jsonLike, damaged), (doc) => handled(() => buildConfig(yamlOf(doc), {}))),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'arbitrary SLUICE_* environments, alone and over a valid file',
    () => {
      const file = yamlOf(VALID);
      fc.assert(
        fc.property(envMap, fc.boolean(), (env, withFile) =>
          handled(() => buildConfig(withFile ? file : '', env)),
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    '${VAR} placeholders filled from arbitrary environments',
    () => {
      const template = yamlOf({
        ...VALID,
        nats: { url: '${A}', user: '${B}', pass: 'p${A}${B}' },
        endpoints: [{ ...VALID.endpoints[0], url: 'https://${A}/x', secret: '${B}' }],
      });
      fc.assert(
        fc.property(envValue, envValue, (a, b) => handled(() => buildConfig(template, { A: a, B: b }))),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'deep nesting, thousands of keys and long values',
    () => {
      const shapes = fc.oneof(
        fc.integer({ min: 1, max: 20_000 }).map((n) => `nats: ${'['.repeat(n)}${']'.repeat(n)}\n`),
        fc.integer({ min: 1, max: 20_000 }).map((n) => `nats: ${'{a: '.repeat(n)}1${'}'.repeat(n)}\n`),
        fc
          .integer({ min: 1, max: 3_000 })
          .map((n) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}a:`).join('\n')),
        fc.integer({ min: 1, max: 5_000 }).map((n) =>
          JSON.stringify({
            deliverer: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])),
          }),
        ),
        fc.integer({ min: 1, max: 5_000 }).map((n) =>
          JSON.stringify({
            endpoints: Array.from({ length: n }, (_, i) => ({ id: `e${i}`, url: 'https://x.example/' })),
          }),
        ),
        fc.integer({ min: 1, max: 2_000_000 }).map((n) => `nats:\n  url: "${'x'.repeat(n)}"\n`),
        // Alias expansion: a "billion laughs" document.
        fc.integer({ min: 1, max: 12 }).map((n) => {
          const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
          for (let i = 1; i <= n; i++)
            lines.push(
              `a${i}: &a${i} [${Array(10)
                .fill(`*a${i - 1}`)
                .join(', ')}]`,
            );
          return `${lines.join('\n')}\nnats: *a${n}\n`;
        }),
      );
      fc.assert(
        fc.property(shapes, (text) => handled(() => buildConfig(text, {}))),
        { numRuns: 60 },
      );
    },
    TIMEOUT_MS,
  );

  describe('files', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sluice-config-fuzz-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it(
      'arbitrary bytes, invalid UTF-8 included, after a valid start',
      async () => {
        const file = (): string => join(dir, 'sluice.yaml');
        const prefix = new TextEncoder().encode(yamlOf(VALID));
        await fc.assert(
          fc.asyncProperty(fc.uint8Array({ maxLength: 2_000 }), fc.boolean(), async (bytes, afterValid) => {
            await writeFile(file(), afterValid ? Buffer.concat([prefix, bytes]) : bytes);
            await handledAsync(() => loadConfig({ path: file(), env: {} }));
          }),
          { numRuns: RUNS },
        );
        await handledAsync(() => loadConfig({ path: join(dir, 'missing.yaml') }));
      },
      TIMEOUT_MS,
    );
  });

  it('keeps ENV_SECTIONS and the schema in step (the generators rely on it)', () => {
    for (const s of ENV_SECTIONS) expect(SCHEMA_KEYS).toContain(s);
    expect(ENV_NAMES.length).toBeGreaterThan(50);
  });
});
