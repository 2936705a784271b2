import type { FastifyInstance } from 'fastify';
import { objectEventMessages, objectEvents, readNotification } from '@sluice/objects';
import { SluiceError, isSluiceError, s3Sources, type EventSpace } from '@sluice/core';
import { parseJsonBody } from './json-body.js';
import type { RouteDeps } from './route-deps.js';

/** The answer of `POST /v1/sources/:sourceId/notifications`: one entry per event, in record order. */
export interface NotificationResponse {
  readonly events: readonly { readonly id: string; readonly duplicate: boolean }[];
  /** Records skipped for their event name (restore, replication, …). */
  readonly skipped: number;
}

/**
 * Registers `POST /v1/sources/:sourceId/notifications` (scope `ingest`; docs/object-store.md): an S3 /
 * MinIO bucket notification becomes one `object.created` / `object.removed` event per record, answered
 * 202 once JetStream acknowledged them all. S3's `s3:TestEvent` is answered 200 without publishing.
 * The route has its own scope whose only body parser reads any content type into a Buffer (bounded
 * by `api.bodyLimitBytes`): forwarders do not all say `application/json`.
 */
export function registerObjectRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const space: EventSpace = { prefix: deps.config.nats.prefix, partitions: deps.config.nats.partitions };
  const sources = new Map(s3Sources(deps.config).map((s) => [s.id, s]));
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.post<{ Params: { sourceId: string } }>(
      '/v1/sources/:sourceId/notifications',
      { config: { scope: 'ingest' }, bodyLimit: deps.config.api.bodyLimitBytes },
      async (request, reply) => {
        const source = sources.get(request.params.sourceId);
        if (source === undefined)
          throw new SluiceError('SLUICE_NOT_FOUND', `no s3 source "${request.params.sourceId.slice(0, 64)}"`);
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        // SLUICE_NOTIFICATION_INVALID (400) and SLUICE_NOTIFICATION_BUCKET (403) go to the error handler.
        const out = objectEvents(source, readNotification(parseBody(body)));
        const log = { keyId: request.apiKeyId, sourceId: source.id };
        if (out.test) {
          request.log.info(log, 'object-store test notification received');
          return reply.code(200).send({ events: [], skipped: 0 } satisfies NotificationResponse);
        }
        if (out.skipped.length > 0)
          request.log.info(
            { ...log, eventNames: out.skipped },
            'notification records skipped: not object.created/removed',
          );
        const outcomes =
          out.events.length === 0
            ? []
            : await deps.publish(objectEventMessages(space, source.id, out.events));
        request.log.debug({ ...log, events: outcomes.length }, 'object events stored');
        const answer: NotificationResponse = {
          events: outcomes.map((o) => ({ id: o.id, duplicate: o.duplicate })),
          skipped: out.skipped.length,
        };
        return reply.code(202).send(answer);
      },
    );
  });
}

/** JSON with the API's checks (UTF-8, depth, no prototype keys), its failures under the notification code. */
function parseBody(body: Buffer): unknown {
  try {
    return parseJsonBody(body).value;
  } catch (err) {
    if (isSluiceError(err, 'SLUICE_INGEST_INVALID'))
      throw new SluiceError('SLUICE_NOTIFICATION_INVALID', err.message, { cause: err });
    throw err;
  }
}
