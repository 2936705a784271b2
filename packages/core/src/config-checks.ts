import type { ConfigProblem } from './config.js';
import { isValidTypePattern } from './type-pattern.js';

// Checks a schema cannot express: renamed settings, uniqueness, references between settings, URLs,
// ordered pairs. They read the value defensively: they run even when the schema failed, so that one
// run reports every problem.

/** Settings that were replaced: using one is an error that names the replacement. */
const RENAMED: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  deliverer: {
    retryMinMs: 'deliverer.retrySchedule (a list of delays, ms)',
    retryMaxMs: 'deliverer.retrySchedule (a list of delays, ms)',
    maxAckPending: 'endpoints[].maxInFlight (each endpoint has its own consumer)',
  },
};

/** Reports every renamed key in use; returns their paths so that the schema's unknown-key error is not repeated. */
export function renamedKeys(value: Record<string, unknown>, problems: ConfigProblem[]): Set<string> {
  const paths = new Set<string>();
  for (const [section, keys] of Object.entries(RENAMED)) {
    const v = value[section];
    if (v === null || typeof v !== 'object') continue;
    for (const [key, replacement] of Object.entries(keys)) {
      if (!(key in v)) continue;
      paths.add(`/${section}/${key}`);
      problems.push({ path: `/${section}/${key}`, kind: 'renamed', message: `replaced by ${replacement}` });
    }
  }
  return paths;
}

type Item = Record<string, unknown>;

/** The object items of a config array, with their index; anything else was reported by the schema. */
function items(v: unknown): [Item, number][] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((x: unknown, i) =>
    x !== null && typeof x === 'object' && !Array.isArray(x) ? [[x as Item, i]] : [],
  );
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(section: unknown, key: string): number | undefined {
  const v = section !== null && typeof section === 'object' ? (section as Item)[key] : undefined;
  return typeof v === 'number' ? v : undefined;
}

export function crossCheck(config: Item, problems: ConfigProblem[]): void {
  unique(items(config.sources), '/sources', problems);
  unique(items(config.endpoints), '/endpoints', problems);
  unique(items(config.subscriptions), '/subscriptions', problems);
  const endpoints = new Set(items(config.endpoints).map(([e]) => e.id));
  for (const [e, i] of items(config.endpoints)) {
    const urlText = str(e.url);
    if (urlText !== undefined) checkEndpointUrl(urlText, `/endpoints/${i}/url`, problems);
    const secret = str(e.secret);
    // Length only for secrets of the right shape; the schema's pattern reports the others.
    if (secret !== undefined && /^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret)) {
      const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
      if (key.length < 24 || key.length > 64)
        problems.push({
          path: `/endpoints/${i}/secret`,
          kind: 'format',
          message: `the secret must decode to 24–64 bytes, got ${key.length}`,
        });
    }
  }
  for (const [s, i] of items(config.subscriptions)) {
    if (typeof s.endpoint === 'string' && !endpoints.has(s.endpoint))
      problems.push({
        path: `/subscriptions/${i}/endpoint`,
        kind: 'reference',
        message: `no endpoint with id "${s.endpoint}"`,
      });
    if (!Array.isArray(s.types)) continue;
    s.types.forEach((t: unknown, j) => {
      if (typeof t === 'string' && t.length > 0 && !isValidTypePattern(t))
        problems.push({
          path: `/subscriptions/${i}/types/${j}`,
          kind: 'format',
          message: `invalid type pattern "${t}"`,
        });
    });
  }
  for (const [s, i] of items(config.sources)) {
    const url = str(s.url);
    if (url === undefined || url.length === 0) continue;
    let protocol: string | undefined;
    try {
      protocol = new URL(url).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'mysql:' && protocol !== 'mariadb:')
      problems.push({
        path: `/sources/${i}/url`,
        kind: 'format',
        message: 'expected mysql://user:pass@host:port',
      });
  }
  orderedPair(config.capture, '/capture', 'reconnectMinMs', 'reconnectMaxMs', problems);
  orderedPair(config.deliverer, '/deliverer', 'breakerOpenMs', 'breakerMaxOpenMs', problems);
  firstAttemptImmediate(config.deliverer, '/deliverer/retrySchedule', problems);
  for (const [e, i] of items(config.endpoints))
    firstAttemptImmediate(e, `/endpoints/${i}/retrySchedule`, problems);
  for (const [s, i] of items(config.subscriptions))
    firstAttemptImmediate(s, `/subscriptions/${i}/retrySchedule`, problems);
}

function checkEndpointUrl(text: string, path: string, problems: ConfigProblem[]): void {
  if (text.length === 0) return; // minLength already reported
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push({ path, kind: 'format', message: `not a URL: ${text}` });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    problems.push({ path, kind: 'format', message: 'only http and https URLs are delivered to' });
  if (url.username || url.password)
    problems.push({ path, kind: 'format', message: 'credentials in the URL are not allowed' });
}

// A first attempt held back would sit ack-pending in its endpoint's consumer for the whole delay and
// take one of its maxInFlight slots: a first-attempt delay would cap throughput at maxInFlight / delay.
function firstAttemptImmediate(section: unknown, path: string, problems: ConfigProblem[]): void {
  const schedule =
    section !== null && typeof section === 'object' ? (section as Item).retrySchedule : undefined;
  if (Array.isArray(schedule) && schedule.length > 0 && schedule[0] !== 0)
    problems.push({ path: `${path}/0`, kind: 'range', message: 'the first attempt is immediate: must be 0' });
}

function orderedPair(
  section: unknown,
  path: string,
  min: string,
  max: string,
  problems: ConfigProblem[],
): void {
  const lo = num(section, min);
  const hi = num(section, max);
  if (lo !== undefined && hi !== undefined && lo > hi)
    problems.push({ path: `${path}/${min}`, kind: 'range', message: `must not exceed ${max}` });
}

function unique(list: [Item, number][], path: string, problems: ConfigProblem[]): void {
  const seen = new Set<unknown>();
  for (const [item, i] of list) {
    if (typeof item.id !== 'string') continue;
    if (seen.has(item.id))
      problems.push({ path: `${path}/${i}/id`, kind: 'duplicate', message: `duplicate id "${item.id}"` });
    seen.add(item.id);
  }
}
