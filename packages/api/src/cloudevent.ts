import type { IncomingHttpHeaders } from 'node:http';
import { SluiceError, ingestEventId, type IngestCloudEvent } from '@sluice/core';
import { parseJsonBody } from './json-body.js';

// CloudEvents 1.0 (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md) as received by
// POST /v1/events: validation of the attributes, and the event sluice stores (docs/api.md).

/** Longest event type: it becomes subject tokens, and subscription patterns are matched against it. */
export const MAX_TYPE_LENGTH = 255;
/** Longest `id`, `subject` or `partitionkey`: they end up in headers, KV keys' inputs and logs. */
export const MAX_ID_LENGTH = 1024;
/** Longest `source`, `dataschema` (URI references). */
export const MAX_URI_LENGTH = 2048;
/** Longest `Idempotency-Key` header. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;
const CONTEXT_ATTRIBUTES = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
]);
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** One event ready to be published: its attributes, its data as text, its partition key. */
export interface IngestedEvent {
  /** The stored attributes (without `data`; with the deterministic `id`). */
  readonly attributes: IngestCloudEvent;
  /** The `data` member as JSON text, exactly as the producer sent it; absent when there is none. */
  readonly dataJson: string | undefined;
  /** The partition key: `partitionkey`, else `subject`, else the event id. */
  readonly key: string;
}

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_INGEST_INVALID', message);
}

/**
 * Checks the attributes of one structured-mode event (a parsed JSON object) and builds what is stored.
 * @param dataJson the text of its `data` member, from the body (see `parseJsonBody`).
 * @param idempotencyKey the `Idempotency-Key` header, when given: it replaces `id` in the id derivation.
 * @param where prefix of messages, e.g. `event 3: ` in a batch.
 * @throws SluiceError `SLUICE_INGEST_INVALID`
 */
export function structuredEvent(
  value: unknown,
  dataJson: string | undefined,
  idempotencyKey: string | undefined,
  where = '',
): IngestedEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`${where}a CloudEvent must be a JSON object`);
  const o = value as Record<string, unknown>;
  const attributes: Record<string, unknown> = {};
  for (const name of Object.keys(o)) {
    const v = o[name];
    if (name === 'data') continue;
    if (name === 'data_base64') {
      if (v === null) continue;
      if (typeof v !== 'string' || !BASE64.test(v))
        throw invalid(`${where}data_base64 must be a base64 string`);
      if (dataJson !== undefined && o.data !== null)
        throw invalid(`${where}an event has either data or data_base64, not both`);
      attributes.data_base64 = v;
      continue;
    }
    // JSON format: an attribute whose value is null is absent.
    if (v === null) continue;
    if (!CONTEXT_ATTRIBUTES.has(name)) checkExtension(name, v, where);
    attributes[name] = v;
  }
  const hasData = dataJson !== undefined && o.data !== null;
  return finish(attributes, hasData ? dataJson : undefined, idempotencyKey, where);
}

/**
 * Builds the event of a binary-mode request: attributes from the `ce-*` headers (percent-decoded, as
 * the HTTP binding requires), `datacontenttype` from `Content-Type`, the body as data — JSON text for
 * a JSON media type, base64 (`data_base64`) for anything else.
 * @throws SluiceError `SLUICE_INGEST_INVALID`
 */
export function binaryEvent(
  headers: IncomingHttpHeaders,
  body: Buffer | undefined,
  idempotencyKey: string | undefined,
): IngestedEvent {
  const attributes: Record<string, unknown> = {};
  for (const [header, raw] of Object.entries(headers)) {
    if (!header.startsWith('ce-')) continue;
    const name = header.slice(3);
    if (name === 'datacontenttype')
      throw invalid('binary mode takes the data content type from Content-Type, not ce-datacontenttype');
    const value = percentDecode(Array.isArray(raw) ? raw.join(',') : (raw ?? ''), header);
    if (!CONTEXT_ATTRIBUTES.has(name)) checkExtension(name, value, '');
    attributes[name] = value;
  }
  const contentType = headers['content-type'];
  if (contentType !== undefined && contentType !== '') attributes.datacontenttype = contentType;
  let dataJson: string | undefined;
  if (body !== undefined && body.length > 0) {
    if (isJsonMediaType(contentType)) dataJson = parseJsonBody(body).text;
    else attributes.data_base64 = body.toString('base64');
  }
  return finish(attributes, dataJson, idempotencyKey, '');
}

/** True for `application/json`, `text/json` and any `…+json` media type (parameters ignored). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || type === 'text/json' || type.endsWith('+json');
}

function finish(
  attributes: Record<string, unknown>,
  dataJson: string | undefined,
  idempotencyKey: string | undefined,
  where: string,
): IngestedEvent {
  if (attributes.specversion !== '1.0')
    throw invalid(`${where}specversion must be "1.0" (got ${describe(attributes.specversion)})`);
  const producerId = requireString(attributes, 'id', MAX_ID_LENGTH, where);
  const source = requireString(attributes, 'source', MAX_URI_LENGTH, where);
  const type = requireString(attributes, 'type', MAX_TYPE_LENGTH, where);
  if (type.split('.').some((segment) => segment === ''))
    throw invalid(`${where}type must not have empty dot-separated segments (got ${JSON.stringify(type)})`);
  optionalString(attributes, 'subject', MAX_ID_LENGTH, where);
  optionalString(attributes, 'dataschema', MAX_URI_LENGTH, where);
  optionalString(attributes, 'datacontenttype', MAX_TYPE_LENGTH, where);
  if (attributes.time !== undefined) {
    if (typeof attributes.time !== 'string' || !isRfc3339(attributes.time))
      throw invalid(`${where}time must be an RFC 3339 timestamp (got ${describe(attributes.time)})`);
  }
  const partitionKey = attributes.partitionkey;
  if (partitionKey !== undefined && (typeof partitionKey !== 'string' || partitionKey === ''))
    throw invalid(`${where}partitionkey must be a non-empty string`);
  if (typeof partitionKey === 'string' && partitionKey.length > MAX_ID_LENGTH)
    throw invalid(`${where}partitionkey is longer than ${MAX_ID_LENGTH} characters`);
  const id = ingestEventId(source, idempotencyKey ?? producerId);
  const stored = { ...attributes, id, sluiceproducerid: producerId } as IngestCloudEvent;
  const key =
    (partitionKey as string | undefined) ?? (attributes.subject as string | undefined) ?? (id as string);
  return { attributes: stored, dataJson, key };
}

function requireString(
  attributes: Record<string, unknown>,
  name: string,
  max: number,
  where: string,
): string {
  const v = attributes[name];
  if (typeof v !== 'string' || v === '')
    throw invalid(`${where}${name} must be a non-empty string (got ${describe(v)})`);
  if (v.length > max) throw invalid(`${where}${name} is longer than ${max} characters`);
  return v;
}

function optionalString(attributes: Record<string, unknown>, name: string, max: number, where: string): void {
  if (attributes[name] !== undefined) requireString(attributes, name, max, where);
}

function checkExtension(name: string, value: unknown, where: string): void {
  if (!EXTENSION_NAME.test(name))
    throw invalid(
      `${where}attribute name ${JSON.stringify(name.slice(0, 40))} is not valid (lowercase letters and digits, at most 20)`,
    );
  if (name.startsWith('sluice'))
    throw invalid(`${where}attribute names starting with "sluice" are reserved (${name})`);
  const ok =
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX);
  if (!ok) throw invalid(`${where}extension ${name} must be a string, a boolean or a 32-bit integer`);
  if (typeof value === 'string' && value.length > MAX_URI_LENGTH)
    throw invalid(`${where}extension ${name} is longer than ${MAX_URI_LENGTH} characters`);
}

/** RFC 3339 date-time, with the calendar's ranges checked (not only the shape). */
export function isRfc3339(text: string): boolean {
  const m = RFC3339.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offsetOk = m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 60 &&
    offsetOk
  );
}

/** Decodes `%XX` runs as UTF-8 (CloudEvents HTTP binding, 3.1.3.2). */
function percentDecode(value: string, header: string): string {
  if (!value.includes('%')) return value;
  return value.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = Buffer.from(run.replaceAll('%', ''), 'hex');
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    try {
      return text.decode(bytes);
    } catch {
      throw invalid(`header ${header} has percent-encoded bytes that are not UTF-8`);
    }
  });
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const json = JSON.stringify(v) ?? typeof v;
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
