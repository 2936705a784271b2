import type { AddressInfo } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import { LogController, fastify, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  ApiKeyCache,
  SluiceError,
  idempotencyBucket,
  openApiKeys,
  openEndpointHealth,
  openIdempotency,
  type ApiKeyScope,
  type Config,
  type Logger,
} from '@sluice/core';
import { authHook } from './auth.js';
import { handleClientError, handleError, handleNotFound } from './http-errors.js';
import { registerIngestRoutes } from './ingest-routes.js';
import { parseJsonBody } from './json-body.js';
import { registerObjectRoutes } from './object-routes.js';
import { IdempotencyStore } from './idempotency-store.js';
import { EventPublisher } from './publisher.js';
import { registerReadRoutes } from './read-routes.js';
import type { RouteDeps } from './route-deps.js';

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** A connection of the API role's own; the server does not close it. */
  readonly nc: NatsConnection;
}

/** One route the server registered. */
export interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
  /** The API key scope it needs; `undefined` for public routes. */
  readonly scope: ApiKeyScope | undefined;
}

/** The HTTP API, from {@link createApiServer}. */
export interface ApiServer {
  readonly app: FastifyInstance;
  /** Every route registered, for the OpenAPI check. */
  readonly routes: readonly RegisteredRoute[];
  /** Listens on `api.host`:`api.port`; resolves with the base URL, e.g. `http://127.0.0.1:8480`. */
  listen(): Promise<string>;
  /** The base URL once listening. */
  readonly url: string | undefined;
  /** Counters for progress logs: events stored, and retried events answered as duplicates. */
  stats(): { eventsIngested: number; duplicatesAnswered: number };
  /** Stops accepting requests, finishes those in flight, stops the key watch and the publisher. */
  close(): Promise<void>;
}

/**
 * Builds the HTTP API server (docs/api.md): opens its KV buckets, starts watching the API keys, and
 * registers the routes with one auth hook and one error handler. Call {@link ApiServer.listen}.
 * @throws SluiceError `SLUICE_NATS_PROVISION` when a bucket cannot be opened.
 */
export async function createApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { config, nc } = options;
  const logger = options.logger.child({ component: 'api' });
  const [keysKv, idempotency, endpointHealth] = await Promise.all([
    openApiKeys(nc, config.nats),
    openIdempotency(nc, config.nats, config.api.idempotencyTtlMs),
    openEndpointHealth(nc, config.nats),
  ]);
  const keys = await ApiKeyCache.start(keysKv, (err) =>
    logger.error({ err }, 'the API key watch stopped; every request now reads the keys bucket'),
  );
  const ids = new IdempotencyStore(
    nc,
    idempotency,
    idempotencyBucket(config.nats),
    config.api.publishTimeoutMs,
  );
  const publisher = new EventPublisher({
    nc,
    idempotency: ids,
    logger,
    timeoutMs: config.api.publishTimeoutMs,
  });
  const deps: RouteDeps = { config, logger, publish: (messages) => publisher.publish(messages) };

  const app = fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps FastifyInstance's default type parameters.
    loggerInstance: logger as FastifyBaseLogger,
    // One log line per request would dominate the log at ingest rates; errors are logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.api.bodyLimitBytes,
    requestTimeout: config.api.requestTimeoutMs,
    // Fastify's own JSON parser is replaced below; these guard any other parse it might do.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    exposeHeadRoutes: false,
    return503OnClosing: true,
    clientErrorHandler: handleClientError,
  });
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) routes.push({ method, url: route.url, scope: route.config?.scope });
  });
  app.setErrorHandler(handleError(logger));
  app.setNotFoundHandler(handleNotFound);
  app.addHook('onRequest', authHook(keys));
  // Routes that take JSON (object-store notifications) get the same checks as ingest: UTF-8, depth,
  // no __proto__ / constructor.prototype keys.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer).value);
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  registerReadRoutes(app, { ...deps, endpointHealth, natsOpen: () => !nc.isClosed() });
  registerIngestRoutes(app, deps);
  registerObjectRoutes(app, deps);
  await app.ready();

  let url: string | undefined;
  return {
    app,
    routes,
    get url() {
      return url;
    },
    stats: () => ({
      eventsIngested: publisher.stats.stored,
      duplicatesAnswered: publisher.stats.duplicates,
    }),
    async listen() {
      try {
        // fastify logs this line itself, once per address it listens on.
        await app.listen({
          host: config.api.host,
          port: config.api.port,
          listenTextResolver: (address) => `listening on ${address}`,
        });
      } catch (cause) {
        throw new SluiceError(
          'SLUICE_API_LISTEN',
          `cannot listen on ${config.api.host}:${config.api.port}: ${(cause as Error).message}`,
          { cause },
        );
      }
      const address = app.server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      url = `http://${host}:${address.port}`;
      return url;
    },
    async close() {
      await app.close();
      await keys.stop();
      await publisher.close();
      await ids.close();
    },
  };
}
