import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SluiceError, eventMessage, type EventMessage, type EventSpace } from '@sluice/core';
import {
  MAX_IDEMPOTENCY_KEY_LENGTH,
  binaryEvent,
  structuredEvent,
  type IngestedEvent,
} from './cloudevent.js';
import { parseJsonBody, type JsonBody } from './json-body.js';
import type { RouteDeps } from './route-deps.js';

/**
 * The `Sluice-Source` header of ingested events. Not a valid source id (`:`), so that capture's
 * reconcile scan never mistakes an ingested event for one of its own.
 */
export const INGEST_SOURCE = 'api:ingest';

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';
// Printable ASCII without leading or trailing spaces.
const IDEMPOTENCY_KEY = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** The 202 answer of `POST /v1/events`: one entry per event, in request order. */
export interface IngestResponse {
  readonly events: readonly { readonly id: string; readonly duplicate: boolean }[];
}

/**
 * Registers `POST /v1/events` (scope `ingest`) in its own fastify scope, whose only body parser reads
 * any content type into a Buffer, bounded by `api.bodyLimitBytes`, so that the route decides between
 * structured, batch and binary mode itself.
 */
export function registerIngestRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const space: EventSpace = { prefix: deps.config.nats.prefix, partitions: deps.config.nats.partitions };
  const maxBatch = deps.config.api.maxBatchEvents;
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.post(
      '/v1/events',
      { config: { scope: 'ingest' }, bodyLimit: deps.config.api.bodyLimitBytes },
      async (request, reply) => {
        const events = ingestedEvents(request, maxBatch);
        const outcomes = await deps.publish(events.map((e) => toMessage(space, e)));
        request.log.debug({ keyId: request.apiKeyId, events: outcomes.length }, 'events stored');
        const answer: IngestResponse = {
          events: outcomes.map((o) => ({ id: o.id, duplicate: o.duplicate })),
        };
        return reply.code(202).send(answer);
      },
    );
  });
}

/**
 * The events of one request, by mode: batch and structured by their media type, binary when the
 * `ce-specversion` header is present, and plain `application/json` as structured when the body
 * has a `specversion`.
 * @throws SluiceError `SLUICE_INGEST_INVALID`, `SLUICE_UNSUPPORTED_MEDIA_TYPE`
 */
export function ingestedEvents(
  request: Pick<FastifyRequest, 'headers' | 'body'>,
  maxBatch: number,
): IngestedEvent[] {
  const headers = request.headers;
  const body = Buffer.isBuffer(request.body) ? request.body : undefined;
  const mediaType = (headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  const idempotencyKey = idempotencyKeyOf(headers);
  if (mediaType === BATCH) {
    if (idempotencyKey !== undefined)
      throw invalid(
        'Idempotency-Key applies to single events only; each event of a batch is identified by its id and source',
      );
    return batch(parseJsonBody(body ?? Buffer.alloc(0)), maxBatch);
  }
  if (mediaType === STRUCTURED) return [single(parseJsonBody(body ?? Buffer.alloc(0)), idempotencyKey)];
  if (headers['ce-specversion'] !== undefined) return [binaryEvent(headers, body, idempotencyKey)];
  if (mediaType === 'application/json' && body !== undefined && body.length > 0) {
    const parsed = parseJsonBody(body);
    const v = parsed.value;
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && 'specversion' in v)
      return [single(parsed, idempotencyKey)];
  }
  throw new SluiceError(
    'SLUICE_UNSUPPORTED_MEDIA_TYPE',
    `send ${STRUCTURED}, ${BATCH}, application/json with a specversion, or binary mode (ce-* headers)` +
      (mediaType === '' ? '; the request has no Content-Type' : ''),
  );
}

function single(parsed: JsonBody, idempotencyKey: string | undefined): IngestedEvent {
  return structuredEvent(parsed.value, dataText(parsed, 0), idempotencyKey);
}

function batch(parsed: JsonBody, maxBatch: number): IngestedEvent[] {
  if (!Array.isArray(parsed.value)) throw invalid('a batch must be a JSON array of CloudEvents');
  const items: unknown[] = parsed.value;
  if (items.length > maxBatch)
    throw invalid(`a batch may hold at most ${maxBatch} events (api.maxBatchEvents); it has ${items.length}`);
  return items.map((item, i) => structuredEvent(item, dataText(parsed, i), undefined, `event ${i}: `));
}

function dataText(parsed: JsonBody, index: number): string | undefined {
  const span = parsed.dataSpans[index];
  return span === undefined ? undefined : parsed.text.slice(span.start, span.end);
}

function idempotencyKeyOf(headers: IncomingHttpHeaders): string | undefined {
  const v = headers['idempotency-key'];
  if (v === undefined) return undefined;
  const key = Array.isArray(v) ? v.join(',') : v;
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !IDEMPOTENCY_KEY.test(key))
    throw invalid(`Idempotency-Key must be 1–${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`);
  return key;
}

/** The message of one event: built by `eventMessage`, with the producer's data text spliced in. */
export function toMessage(space: EventSpace, e: IngestedEvent): EventMessage {
  const m = eventMessage(space, e.attributes, e.key, INGEST_SOURCE);
  if (e.dataJson === undefined) return m;
  // The attributes' JSON ends with "}": the data member goes before it, as the producer's own text.
  const head = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength - 1);
  return { ...m, data: Buffer.concat([head, Buffer.from(`,"data":${e.dataJson.trim()}}`, 'utf8')]) };
}

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_INGEST_INVALID', message);
}
