/**
 * Every stream, subject, consumer and bucket name sluice uses, built from one configurable prefix.
 * Nothing else in the codebase spells a name out; see README "Streams and subjects".
 */

/** The inputs every name depends on. */
export interface NameSpace {
  /**
   * Lowercase token that starts every subject and bucket; the uppercase form starts every stream.
   * @default 'sluice'
   */
  readonly prefix: string;
}

const PREFIX_RE = /^[a-z][a-z0-9_-]{0,31}$/;

/** True when `prefix` is usable in subjects, stream names and bucket names alike. */
export function isValidPrefix(prefix: string): boolean {
  return PREFIX_RE.test(prefix);
}

function upper(ns: NameSpace): string {
  return ns.prefix.toUpperCase().replaceAll('-', '_');
}

/** Stream holding every captured event: `SLUICE_EVENTS`. */
export function eventsStream(ns: NameSpace): string {
  return `${upper(ns)}_EVENTS`;
}

/** Stream holding one message per (event, subscription): `SLUICE_DELIVERIES`. */
export function deliveriesStream(ns: NameSpace): string {
  return `${upper(ns)}_DELIVERIES`;
}

/** Stream holding retries waiting for their due time: `SLUICE_RETRIES` (decision 0007). */
export function retriesStream(ns: NameSpace): string {
  return `${upper(ns)}_RETRIES`;
}

/** Stream holding dead-lettered deliveries: `SLUICE_DLQ`. */
export function dlqStream(ns: NameSpace): string {
  return `${upper(ns)}_DLQ`;
}

/** Stream holding one record per delivery attempt: `SLUICE_ATTEMPTS`. */
export function attemptsStream(ns: NameSpace): string {
  return `${upper(ns)}_ATTEMPTS`;
}

/**
 * Stream keeping the object-store notifications MinIO publishes to one s3 source's `nats.subject`, so
 * that those published while capture is down wait for it: `SLUICE_NOTIFICATIONS_<source id>`. Source
 * ids (`[A-Za-z0-9][A-Za-z0-9_-]*`) are legal in stream names as they are, case included.
 */
export function notificationsStream(ns: NameSpace, sourceId: string): string {
  return `${upper(ns)}_NOTIFICATIONS_${sourceId}`;
}

/** Durable consumer of a notifications stream, shared by every capture process: `capture-notifications`. */
export function notificationsConsumer(): string {
  return 'capture-notifications';
}

/** Subjects bound to the retries stream: `sluice.retries.>`. */
export function retriesStreamSubjects(ns: NameSpace): string[] {
  return [`${ns.prefix}.retries.>`];
}

/** Subjects bound to the DLQ stream: `sluice.dlq.>`. */
export function dlqStreamSubjects(ns: NameSpace): string[] {
  return [`${ns.prefix}.dlq.>`];
}

/** Subjects bound to the attempts stream: `sluice.attempts.>`. */
export function attemptsStreamSubjects(ns: NameSpace): string[] {
  return [`${ns.prefix}.attempts.>`];
}

/** Subject of a waiting retry: `sluice.retries.<endpoint>.<partition>`. */
export function retrySubject(ns: NameSpace, endpointId: string, partition: number): string {
  return `${ns.prefix}.retries.${escapeToken(endpointId)}.${partition}`;
}

/** Subject of a dead-lettered delivery: `sluice.dlq.<endpoint>.<partition>`. */
export function dlqSubject(ns: NameSpace, endpointId: string, partition: number): string {
  return `${ns.prefix}.dlq.${escapeToken(endpointId)}.${partition}`;
}

/** Filter of one endpoint's dead letters (`*` for every endpoint): `sluice.dlq.<endpoint>.>`. */
export function dlqEndpointFilter(ns: NameSpace, endpointId: string | undefined): string {
  return `${ns.prefix}.dlq.${endpointId === undefined ? '*' : escapeToken(endpointId)}.>`;
}

/** Subject of one attempt record: `sluice.attempts.<endpoint>.<event id>`. */
export function attemptSubject(ns: NameSpace, endpointId: string, eventId: string): string {
  return `${ns.prefix}.attempts.${escapeToken(endpointId)}.${escapeToken(eventId)}`;
}

/**
 * Filter of attempt records by endpoint, event id, or both (`*` for the one left out):
 * `sluice.attempts.<endpoint>.<event id>`.
 */
export function attemptsFilter(ns: NameSpace, by: { endpointId?: string; eventId?: string }): string {
  const ep = by.endpointId === undefined ? '*' : escapeToken(by.endpointId);
  const ev = by.eventId === undefined ? '*' : escapeToken(by.eventId);
  return `${ns.prefix}.attempts.${ep}.${ev}`;
}

/** Subjects bound to the events stream: `sluice.events.>`. */
export function eventsStreamSubjects(ns: NameSpace): string[] {
  return [`${ns.prefix}.events.>`];
}

/** Subjects bound to the deliveries stream: `sluice.deliveries.>`. */
export function deliveriesStreamSubjects(ns: NameSpace): string[] {
  return [`${ns.prefix}.deliveries.>`];
}

/**
 * Subject of one event: `sluice.events.<partition>.<type tokens…>`.
 * The type is split on dots; each token is escaped so that it is a legal subject token.
 */
export function eventSubject(ns: NameSpace, partition: number, type: string): string {
  return `${ns.prefix}.events.${partition}.${typeToTokens(type)}`;
}

/** Filter matching every event of one partition: `sluice.events.<partition>.>`. */
export function eventPartitionFilter(ns: NameSpace, partition: number): string {
  return `${ns.prefix}.events.${partition}.>`;
}

/** Subject of one delivery: `sluice.deliveries.<endpoint>.<partition>`. */
export function deliverySubject(ns: NameSpace, endpointId: string, partition: number): string {
  return `${ns.prefix}.deliveries.${escapeToken(endpointId)}.${partition}`;
}

/** Filter matching every delivery of one endpoint: `sluice.deliveries.<endpoint>.>`. */
export function deliveryEndpointFilter(ns: NameSpace, endpointId: string): string {
  return `${ns.prefix}.deliveries.${escapeToken(endpointId)}.>`;
}

/** Durable consumer name of the router for one partition: `router-p<N>`. */
export function routerConsumer(partition: number): string {
  return `router-p${partition}`;
}

/**
 * Durable consumer of one endpoint's deliveries, shared by every deliverer process:
 * `deliver-<endpoint>`. Its `max_ack_pending` is the endpoint's concurrency cap (decision 0007).
 */
export function endpointConsumer(endpointId: string): string {
  // Endpoint ids match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ (config schema): legal consumer names as they are.
  return `deliver-${endpointId}`;
}

/** Durable consumer of the retries stream, shared by every deliverer process: `retry-scheduler`. */
export function retrySchedulerConsumer(): string {
  return 'retry-scheduler';
}

/** KV bucket holding capture checkpoints, one key per source: `sluice_checkpoints`. */
export function checkpointsBucket(ns: NameSpace): string {
  return `${ns.prefix.replaceAll('-', '_')}_checkpoints`;
}

/** KV bucket holding endpoint health (breaker, throttle, disabled), one key per endpoint: `sluice_endpoints`. */
export function endpointsBucket(ns: NameSpace): string {
  return `${ns.prefix.replaceAll('-', '_')}_endpoints`;
}

/** KV bucket holding the leases that make one process active per source: `sluice_leases`. */
export function leasesBucket(ns: NameSpace): string {
  return `${ns.prefix.replaceAll('-', '_')}_leases`;
}

/** KV bucket holding the progress of each source's backfill, one key per source: `sluice_backfill`. */
export function backfillBucket(ns: NameSpace): string {
  return `${ns.prefix.replaceAll('-', '_')}_backfill`;
}

/**
 * Object store bucket holding events too large for the server's max_payload, one object per event id;
 * the stream carries a reference (docs/decisions/0012-oversize-and-retention.md): `sluice_oversize`.
 */
export function oversizeBucket(ns: NameSpace): string {
  return `${ns.prefix.replaceAll('-', '_')}_oversize`;
}

/** KV bucket holding per-second rate-limit token counts: `sluice_ratelimit`. */
export function rateLimitBucket(ns: NameSpace): string {
  return `${ns.prefix.replaceAll('-', '_')}_ratelimit`;
}

/** KV bucket holding API keys (hashed), one key per API key id: `sluice_apikeys`. */
export function apiKeysBucket(ns: NameSpace): string {
  return `${ns.prefix.replaceAll('-', '_')}_apikeys`;
}

/**
 * KV bucket holding the signing secrets sluice manages, sealed with the main key (AES-256-GCM), one
 * key per endpoint id: `sluice_secrets` (docs/signing.md).
 */
export function secretsBucket(ns: NameSpace): string {
  return `${ns.prefix.replaceAll('-', '_')}_secrets`;
}

/**
 * KV bucket remembering the ids of ingested events beyond the stream's duplicate window, one key per
 * event id, expiring with the bucket's max age (`api.idempotencyTtlMs`): `sluice_idempotency`.
 */
export function idempotencyBucket(ns: NameSpace): string {
  return `${ns.prefix.replaceAll('-', '_')}_idempotency`;
}

/**
 * Reads the event type back from an event subject (the inverse of {@link eventSubject}),
 * or `undefined` when the subject is not an event subject of this namespace.
 */
export function typeFromEventSubject(ns: NameSpace, subject: string): string | undefined {
  const head = `${ns.prefix}.events.`;
  if (!subject.startsWith(head)) return undefined;
  const rest = subject.slice(head.length);
  const dot = rest.indexOf('.');
  if (dot < 0) return undefined;
  return rest
    .slice(dot + 1)
    .split('.')
    .map(unescapeToken)
    .join('.');
}

/** Reads the partition number from an event subject, or `undefined`. */
export function partitionFromEventSubject(ns: NameSpace, subject: string): number | undefined {
  const head = `${ns.prefix}.events.`;
  if (!subject.startsWith(head)) return undefined;
  const p = Number.parseInt(subject.slice(head.length), 10);
  return Number.isInteger(p) ? p : undefined;
}

function typeToTokens(type: string): string {
  return type.split('.').map(escapeToken).join('.');
}

// Subject tokens may not be empty or contain whitespace, '.', '*' or '>'. Table and database names
// may contain any of those (quoted identifiers), so they are percent-escaped; '%' itself is escaped
// too so that the mapping is reversible.
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const UNSAFE = /[\s.*>%\x00-\x1f\x7f]/g;
// eslint-disable-next-line no-control-regex -- the same class, without the global flag's lastIndex
const HAS_UNSAFE = /[\s.*>%\x00-\x1f\x7f]/;

/**
 * Escapes one subject token: each character NATS forbids becomes `%XX` per UTF-8 byte (as in URLs);
 * empty → `%`.
 */
export function escapeToken(token: string): string {
  if (token.length === 0) return '%';
  // Two names per captured row pass here; nearly all are plain (1.3% of capture's CPU before this test).
  if (!HAS_UNSAFE.test(token)) return token;
  // Per UTF-8 byte, not per UTF-16 code unit: `\s` also matches U+2028, U+3000, … whose code unit
  // needs four hex digits, and `%2028` would read back as a space followed by "28".
  return token.replace(UNSAFE, (c) =>
    Array.from(Buffer.from(c, 'utf8'), (b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join(''),
  );
}

/** Inverse of {@link escapeToken}. */
export function unescapeToken(token: string): string {
  if (token === '%') return '';
  return token.replace(/(?:%[0-9A-F]{2})+/g, (run) =>
    Buffer.from(run.replaceAll('%', ''), 'hex').toString('utf8'),
  );
}

/** Reads the partition number from a delivery, retry or DLQ subject (its last token), or `undefined`. */
export function partitionFromDeliverySubject(subject: string): number | undefined {
  const p = Number.parseInt(subject.slice(subject.lastIndexOf('.') + 1), 10);
  return Number.isInteger(p) ? p : undefined;
}
