import { readFile } from 'node:fs/promises';
import { TypeGuard, type TObject, type TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { ConfigSchema, ENV_SECTIONS, SourceSchema, type Config } from './config-schema.js';
import { SluiceError } from './errors.js';
import { crossCheck, renamedKeys, type ConfigProblem } from './config-checks.js';
import { keyPlaces, nearest, unknownKeyMessage } from './config-hints.js';
import { parseConfigYaml } from './config-yaml.js';

/** Inputs of {@link loadConfig}. Only the cli reads `process.env`; it passes it here. */
export interface LoadConfigOptions {
  /** YAML file to read; when absent only defaults and environment apply. */
  readonly path?: string;
  /** YAML text, instead of `path` (tests). */
  readonly text?: string;
  /** Environment: `SLUICE_*` variables override file values; `${NAME}` in the file is replaced from it. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Environment variables that are not settings but are read by the cli itself. */
export const RESERVED_ENV = new Set(['SLUICE_CONFIG', 'SLUICE_MAIN_KEY']);

/**
 * Loads, merges (defaults ← file ← `SLUICE_*` environment), validates and deep-freezes the configuration.
 * @throws SluiceError `SLUICE_CONFIG_NOT_FOUND`; `SLUICE_CONFIG_PARSE` naming the line, column and reason
 *   of every YAML syntax error; or `SLUICE_CONFIG_INVALID` whose `details.problems` lists every
 *   {@link ConfigProblem} found.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<Config> {
  let text = options.text;
  if (text === undefined && options.path !== undefined) {
    try {
      text = await readFile(options.path, 'utf8');
    } catch (cause) {
      throw new SluiceError('SLUICE_CONFIG_NOT_FOUND', `cannot read config file ${options.path}`, { cause });
    }
  }
  return buildConfig(text ?? '', options.env ?? {}, options.path);
}

/** Synchronous core of {@link loadConfig}, for already-read text. */
export function buildConfig(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  origin = 'config',
): Config {
  let raw = parseConfigYaml(text, origin) ?? {};
  let problems: ConfigProblem[] = [];
  if (typeof raw !== 'object' || Array.isArray(raw) || raw === null) {
    problems.push({ path: '/', kind: 'type', message: 'the configuration must be a YAML mapping' });
    raw = {};
  }
  const value = interpolate(raw, env, '', problems) as Record<string, unknown>;
  applyEnv(value, env, problems);
  for (const section of ENV_SECTIONS) value[section] ??= {};
  mappingsForLists(ConfigSchema, value, '', problems);
  if (Array.isArray(value.sources)) value.sources = value.sources.map(defaultSource);

  const withDefaults = Value.Default(ConfigSchema, value);
  const required = new Set<string>();
  const renamed = renamedKeys(withDefaults as Record<string, unknown>, problems);
  for (const e of sourceVariantErrors(Value.Errors(ConfigSchema, withDefaults), withDefaults)) {
    // A missing required key also fails its own type check ("Expected string"); report it once.
    if (required.has(e.path) || renamed.has(e.path)) continue;
    if (e.type === ValueErrorType.ObjectRequiredProperty) required.add(e.path);
    problems.push(schemaProblem(e));
  }
  unsafeIntegers(ConfigSchema, withDefaults, '', problems);
  // Cross-checks run even when the schema failed, so that one run reports every problem; they
  // therefore read the value defensively instead of trusting its type.
  crossCheck(withDefaults as Record<string, unknown>, problems);
  problems = withoutEchoesOfMissingEnv(problems);
  if (problems.length > 0) {
    const list = problems.map((p) => `  - ${p.path}: ${p.message} [${p.kind}]`).join('\n');
    throw new SluiceError('SLUICE_CONFIG_INVALID', `${origin} has ${problems.length} problem(s):\n${list}`, {
      details: { problems },
    });
  }
  return deepFreeze(withDefaults as Config);
}

/**
 * Drops the problems a missing `${VAR}` causes at its own path: the placeholder became `''`, which
 * then also fails the setting's own checks ("expected a URL"). The missing variable is the one thing
 * to fix, so it is the one problem reported there.
 */
function withoutEchoesOfMissingEnv(problems: ConfigProblem[]): ConfigProblem[] {
  const missing = problems.filter((p) => p.kind === 'env').map((p) => p.path);
  if (missing.length === 0) return problems;
  return problems.filter(
    (p) => p.kind === 'env' || !missing.some((m) => p.path === m || p.path.startsWith(`${m}/`)),
  );
}

/**
 * Reports a mapping where the schema wants a list, and replaces it with `[]`. TypeBox 0.34's
 * `Value.Default` would otherwise `Object.assign` the mapping onto the `[]` default, giving an empty
 * array that passes validation: `endpoints: { id: billing, … }` silently configured no endpoints.
 */
function mappingsForLists(schema: TSchema, value: unknown, path: string, problems: ConfigProblem[]): unknown {
  const isMapping = value !== null && typeof value === 'object' && !Array.isArray(value);
  if (schema === SourceSchema) {
    const variant = sourceVariant(value);
    return variant ? mappingsForLists(variant, value, path, problems) : value;
  }
  if (TypeGuard.IsArray(schema)) {
    if (Array.isArray(value))
      value.forEach((x, i) => (value[i] = mappingsForLists(schema.items, x, `${path}/${i}`, problems)));
    if (!isMapping) return value;
    problems.push({ path, kind: 'type', message: 'expected a list ("- " items), got a mapping' });
    return [];
  }
  if (TypeGuard.IsObject(schema) && isMapping) {
    const obj = value as Record<string, unknown>;
    for (const [key, prop] of Object.entries(schema.properties)) {
      if (Object.hasOwn(obj, key)) obj[key] = mappingsForLists(prop, obj[key], `${path}/${key}`, problems);
    }
  }
  return value;
}

/**
 * Reports integer settings beyond ±2^53 − 1: the schema's integer check passes `1e30` (it is a whole
 * number), but such a value is no longer exact and breaks what it feeds — a stream's max age in
 * nanoseconds, a timer. YAML also reads `9007199254740993` as the nearest double.
 */
function unsafeIntegers(schema: TSchema, value: unknown, path: string, problems: ConfigProblem[]): void {
  if (schema === SourceSchema) {
    const variant = sourceVariant(value);
    if (variant) unsafeIntegers(variant, value, path, problems);
  } else if (TypeGuard.IsInteger(schema)) {
    if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value))
      problems.push({
        path: path || '/',
        kind: 'range',
        message: `must be at most ${Number.MAX_SAFE_INTEGER} in size`,
      });
  } else if (TypeGuard.IsArray(schema)) {
    if (Array.isArray(value))
      value.forEach((x, i) => unsafeIntegers(schema.items, x, `${path}/${i}`, problems));
  } else if (
    TypeGuard.IsObject(schema) &&
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value)
  ) {
    for (const [key, prop] of Object.entries(schema.properties))
      if (Object.hasOwn(value, key))
        unsafeIntegers(prop, (value as Record<string, unknown>)[key], `${path}/${key}`, problems);
  }
}

// sources[] items are a union told apart by `kind` (`mysql` when absent). TypeBox fills a union's
// defaults only into an item that then validates as a whole, and reports a failing item as one
// "Expected union value": an item with a misspelt key would lose its defaults and its precise
// problems. Both are done against the variant the item's `kind` names instead.
type SchemaError = Parameters<typeof schemaProblem>[0];

function sourceVariant(item: unknown): TObject | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const kind = (item as Record<string, unknown>).kind;
  return SourceSchema.anyOf.find((v) =>
    kind === undefined ? 'default' in v.properties.kind : v.properties.kind.const === kind,
  );
}

function defaultSource(item: unknown): unknown {
  const variant = sourceVariant(item);
  return variant ? Value.Default(variant, item) : item;
}

function* sourceVariantErrors(errors: Iterable<SchemaError>, config: unknown): Iterable<SchemaError> {
  const sources = (config as { sources?: unknown }).sources;
  for (const e of errors) {
    const index = /^\/sources\/(\d+)$/.exec(e.path)?.[1];
    const item: unknown = index !== undefined && Array.isArray(sources) ? sources[Number(index)] : undefined;
    const variant = e.type === ValueErrorType.Union ? sourceVariant(item) : undefined;
    if (variant) {
      for (const inner of Value.Errors(variant, item)) yield { ...inner, path: `${e.path}${inner.path}` };
    } else if (e.type === ValueErrorType.Union && item !== null && typeof item === 'object') {
      const kinds = SourceSchema.anyOf.map((v) => v.properties.kind.const).join(', ');
      yield { ...e, path: `${e.path}/kind`, message: `expected one of ${kinds}` };
    } else yield e;
  }
}

function schemaProblem(e: {
  type: ValueErrorType;
  path: string;
  message: string;
  schema: TSchema;
}): ConfigProblem {
  const path = e.path === '' ? '/' : e.path;
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- every other error is a type mismatch
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const siblings = TypeGuard.IsObject(e.schema) ? Object.keys(e.schema.properties) : [];
      return { path, kind: 'unknown-key', message: unknownKeyMessage(path, siblings, places()) };
    }
    case ValueErrorType.ObjectRequiredProperty:
      return { path, kind: 'required', message: 'is required' };
    case ValueErrorType.StringPattern:
    case ValueErrorType.StringFormat:
      return {
        path,
        kind: 'format',
        message: typeof e.schema.description === 'string' ? `expected ${e.schema.description}` : e.message,
      };
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.StringMinLength:
    case ValueErrorType.ArrayMinItems:
      return { path, kind: 'range', message: e.message };
    case ValueErrorType.Union: {
      const options = literals(e.schema);
      return { path, kind: 'type', message: options ? `expected one of ${options}` : e.message };
    }
    default:
      return { path, kind: 'type', message: e.message };
  }
}

function literals(schema: TSchema): string | undefined {
  if (!TypeGuard.IsUnion(schema) || !schema.anyOf.every((s) => TypeGuard.IsLiteral(s))) return undefined;
  return schema.anyOf.map((s) => String(s.const)).join(', ');
}

let keyPlacesOfSchema: Map<string, string[]> | undefined;

function places(): Map<string, string[]> {
  return (keyPlacesOfSchema ??= keyPlaces(ConfigSchema));
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function interpolate(
  v: unknown,
  env: Readonly<Record<string, string | undefined>>,
  path: string,
  problems: ConfigProblem[],
): unknown {
  if (typeof v === 'string') {
    return v.replace(PLACEHOLDER, (_, name: string) => {
      const value = env[name];
      if (value === undefined)
        problems.push({
          path: path || '/',
          kind: 'env',
          message: `\${${name}} is not set in the environment`,
        });
      return value ?? '';
    });
  }
  if (Array.isArray(v)) return v.map((x, i) => interpolate(x, env, `${path}/${i}`, problems));
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, interpolate(x, env, `${path}/${k}`, problems)]),
    );
  }
  return v;
}

/** `eventsMaxAgeMs` → `EVENTS_MAX_AGE_MS`. */
function screamingSnake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Every `SLUICE_*` variable that maps to a setting, with its config path. */
export function envSettings(): { name: string; section: string; key: string; schema: TSchema }[] {
  const out: { name: string; section: string; key: string; schema: TSchema }[] = [];
  for (const section of ENV_SECTIONS) {
    const schema = ConfigSchema.properties[section] as TObject;
    for (const [key, prop] of Object.entries(schema.properties)) {
      out.push({
        name: `SLUICE_${section.toUpperCase()}_${screamingSnake(key)}`,
        section,
        key,
        schema: prop,
      });
    }
  }
  return out;
}

function applyEnv(
  value: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  problems: ConfigProblem[],
): void {
  const known = new Map(envSettings().map((s) => [s.name, s]));
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('SLUICE_') || raw === undefined || RESERVED_ENV.has(name)) continue;
    const setting = known.get(name);
    if (!setting) {
      // Compared without the common SLUICE_ that would make every two names look alike.
      const near = nearest(
        name.slice(7),
        [...known.keys()].map((k) => k.slice(7)),
      );
      problems.push({
        path: `env:${name}`,
        kind: 'unknown-key',
        message: `unknown SLUICE_* environment variable${near ? `; did you mean SLUICE_${near}?` : ''}`,
      });
      continue;
    }
    const section = (value[setting.section] ??= {}) as Record<string, unknown>;
    if (typeof section !== 'object' || section === null) continue;
    const coerced = coerce(raw, setting.schema, name, problems);
    // A bad value is reported once, against the variable; the file's value (or default) stays.
    if (coerced !== INVALID) section[setting.key] = coerced;
  }
}

const INVALID = Symbol('invalid');

function coerce(raw: string, schema: TSchema, name: string, problems: ConfigProblem[]): unknown {
  if (TypeGuard.IsInteger(schema) || TypeGuard.IsNumber(schema)) {
    const n = Number(raw);
    if (raw.trim() !== '' && Number.isFinite(n)) return n;
    problems.push({ path: `env:${name}`, kind: 'type', message: `expected a number, got "${raw}"` });
    return INVALID;
  }
  if (TypeGuard.IsBoolean(schema)) {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    problems.push({ path: `env:${name}`, kind: 'type', message: `expected true or false, got "${raw}"` });
    return INVALID;
  }
  if (TypeGuard.IsArray(schema)) {
    const numeric = TypeGuard.IsInteger(schema.items) || TypeGuard.IsNumber(schema.items);
    // A JSON array keeps items that contain commas (SQL statements in SLUICE_EMBEDDED_INIT_SQL).
    if (!raw.trimStart().startsWith('[')) {
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      // Invalid numbers stay NaN and are reported by the schema against the setting.
      return numeric ? items.map(Number) : items;
    }
    try {
      const list: unknown = JSON.parse(raw);
      if (Array.isArray(list) && list.every((x) => typeof x === (numeric ? 'number' : 'string'))) return list;
    } catch {
      // reported below
    }
    problems.push({
      path: `env:${name}`,
      kind: 'type',
      message: `expected a JSON array of ${numeric ? 'numbers' : 'strings'} or a comma-separated list`,
    });
    return INVALID;
  }
  return raw;
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
export type { ConfigProblem } from './config-checks.js';
