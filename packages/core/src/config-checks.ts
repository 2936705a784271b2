import { isIP } from 'node:net';
import { SECRET_FORMAT } from './config-schema.js';
import { NetworkPolicy, parseNetwork } from './network-policy.js';
import { isValidTypePattern } from './type-pattern.js';

/** One thing wrong with a configuration; {@link loadConfig} reports all of them at once. */
export interface ConfigProblem {
  /** JSON-pointer-like path, e.g. `/endpoints/0/secret`, or `env:SLUICE_NATS_PORT`. */
  readonly path: string;
  /** Stable problem kind: `unknown-key`, `renamed`, `required`, `type`, `format`, `range`, `reference`, `duplicate`, `env`, `blocked`, `conflict`. */
  readonly kind: string;
  readonly message: string;
}

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
  networkChecks(config, problems);
  for (const [e, i] of items(config.endpoints)) {
    const secret = str(e.secret);
    // Length only for secrets of the right shape; the schema's pattern reports the others.
    if (secret !== undefined && /^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret)) {
      const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
      if (key.length < 24 || key.length > 64)
        problems.push({
          path: `/endpoints/${i}/secret`,
          kind: 'format',
          message: `expected ${SECRET_FORMAT}; this one decodes to ${key.length} bytes`,
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
  s3SourceChecks(config, problems);
  natsAuthChecks(config.nats, problems);
  for (const [s, i] of items(config.sources)) {
    if (s.kind !== undefined && s.kind !== 'mysql') continue;
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

// One way to authenticate, and TLS files that make a whole (docs/nats-security.md). Messages name
// keys, never their values: these are credentials.
function natsAuthChecks(section: unknown, problems: ConfigProblem[]): void {
  if (section === null || typeof section !== 'object') return;
  const nats = section as Item;
  const has = (key: string): boolean => nats[key] !== undefined;
  const kinds = [
    ['user', 'nats.user/nats.pass'],
    ['token', 'nats.token'],
    ['nkeySeedFile', 'nats.nkeySeedFile'],
    ['credsFile', 'nats.credsFile'],
  ].filter(([key]) => has(key!));
  if (kinds.length > 1)
    for (const [key] of kinds.slice(1))
      problems.push({
        path: `/nats/${key}`,
        kind: 'conflict',
        message: `choose one way to authenticate: ${kinds.map(([, name]) => name).join(', ')} are all set`,
      });
  if (has('pass') && !has('user'))
    problems.push({ path: '/nats/user', kind: 'required', message: 'nats.pass is set without nats.user' });
  if (has('user') && !has('pass'))
    problems.push({ path: '/nats/pass', kind: 'required', message: 'nats.user is set without nats.pass' });
  const url = str(nats.url);
  if (url !== undefined && kinds.length > 0 && url.split(',').some((u) => /^\s*[a-z]+:\/\/[^/@]*@/i.test(u)))
    problems.push({
      path: '/nats/url',
      kind: 'conflict',
      message: `the URL carries credentials and ${kinds[0]![1]} is set: keep credentials out of the URL`,
    });
  if (has('tlsCertFile') !== has('tlsKeyFile'))
    problems.push({
      path: has('tlsCertFile') ? '/nats/tlsKeyFile' : '/nats/tlsCertFile',
      kind: 'required',
      message: 'a client certificate needs both nats.tlsCertFile and nats.tlsKeyFile',
    });
}

// MinIO publishes to the subject and a stream of sluice's captures it: a subject inside sluice's own
// namespace, or one shared by two sources, would make the streams overlap, which NATS refuses.
function s3SourceChecks(config: Item, problems: ConfigProblem[]): void {
  const nats = config.nats !== null && typeof config.nats === 'object' ? (config.nats as Item) : {};
  const prefix = str(nats.prefix) ?? 'sluice';
  const seen = new Map<string, number>();
  for (const [s, i] of items(config.sources)) {
    if (s.kind !== 's3' || s.nats === null || typeof s.nats !== 'object') continue;
    const subject = str((s.nats as Item).subject);
    if (subject === undefined) continue;
    const path = `/sources/${i}/nats/subject`;
    if (subject.startsWith(`${prefix}.`) || subject.startsWith('$') || subject.startsWith('_INBOX.'))
      problems.push({
        path,
        kind: 'format',
        message: `"${subject}" is in a namespace NATS or sluice itself uses; choose e.g. minio.events`,
      });
    const other = seen.get(subject);
    if (other !== undefined)
      problems.push({
        path,
        kind: 'duplicate',
        message: `sources[${other}] already receives notifications on "${subject}"`,
      });
    seen.set(subject, i);
  }
}

// The network policy at endpoint creation (docs/network-policy.md): every allowNetworks entry a CIDR,
// every dnsServers entry an address, and every endpoint URL passing the URL check with its endpoint's
// allow-list. Host names are checked when connecting; only literal addresses can be judged here.
function networkChecks(config: Item, problems: ConfigProblem[]): void {
  const deliverer = config.deliverer !== null && typeof config.deliverer === 'object' ? config.deliverer : {};
  const shared = allowList((deliverer as Item).allowNetworks, '/deliverer/allowNetworks', problems);
  const servers = (deliverer as Item).dnsServers;
  if (Array.isArray(servers))
    servers.forEach((v: unknown, j) => {
      if (typeof v === 'string' && v.length > 0 && !isDnsServer(v))
        problems.push({
          path: `/deliverer/dnsServers/${j}`,
          kind: 'format',
          message: `"${v}" is not a DNS server address: expected ip, ip:port or [ipv6]:port`,
        });
    });
  for (const [e, i] of items(config.endpoints)) {
    const own = allowList(e.allowNetworks, `/endpoints/${i}/allowNetworks`, problems);
    const text = str(e.url);
    if (text === undefined || text.length === 0) continue; // the schema reported it
    const verdict = new NetworkPolicy([...shared, ...own]).checkUrl(text);
    if (verdict.ok) continue;
    const path = `/endpoints/${i}/url`;
    if (verdict.rule === 'invalid') problems.push({ path, kind: 'format', message: `not a URL: ${text}` });
    else
      problems.push({
        path,
        kind: verdict.rule === 'address' ? 'blocked' : 'format',
        message: `SLUICE_ENDPOINT_URL_BLOCKED: ${verdict.message}`,
      });
  }
}

/** The valid CIDRs of an allowNetworks list; reports the others. */
function allowList(list: unknown, path: string, problems: ConfigProblem[]): string[] {
  if (!Array.isArray(list)) return [];
  const valid: string[] = [];
  list.forEach((v: unknown, j) => {
    if (typeof v !== 'string' || v.length === 0) return; // the schema reported it
    if (parseNetwork(v) !== undefined) valid.push(v);
    else
      problems.push({
        path: `${path}/${j}`,
        kind: 'format',
        message: `"${v}" is not a CIDR network: expected e.g. 10.20.0.0/16, 127.0.0.1/32 or fd00::/8`,
      });
  });
  return valid;
}

// The forms dns.Resolver#setServers accepts: 10.0.0.53, 10.0.0.53:5353, fd00::53, [fd00::53]:5353.
function isDnsServer(text: string): boolean {
  const bracketed = /^\[(.+)\](?::(\d{1,5}))?$/.exec(text);
  const v4 = /^([\d.]+)(?::(\d{1,5}))?$/.exec(text);
  const port = Number(bracketed?.[2] ?? v4?.[2] ?? 53);
  if (!(port >= 1 && port <= 65_535)) return false;
  if (bracketed) return isIP(bracketed[1]!) === 6;
  if (v4) return isIP(v4[1]!) === 4;
  return isIP(text) === 6;
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
