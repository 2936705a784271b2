import { readFileSync } from 'node:fs';
import type { KV } from '@nats-io/kv';
import type { FastifyInstance } from 'fastify';
import type { EndpointConfig } from '@sluice/core';
import type { RouteDeps } from './route-deps.js';

/**
 * The OpenAPI document, `docs/openapi.json` of the repository, served as is at
 * `GET /v1/openapi.json` (a test keeps the document and the registered routes in step).
 */
export const OPENAPI_PATH = new URL('../../../docs/openapi.json', import.meta.url);

/** One endpoint as `GET /v1/endpoints` shows it: no secret, no credentials, no query string. */
export interface EndpointView {
  readonly id: string;
  readonly url: string;
  readonly enabled: boolean;
  readonly health: {
    readonly disabled: boolean;
    readonly disabledReason?: string;
    readonly failingSinceMs?: number;
    readonly openUntilMs?: number;
    readonly throttledUntilMs?: number;
  };
}

/** What the read routes need besides {@link RouteDeps}. */
export interface ReadRouteDeps extends RouteDeps {
  /** The endpoint health bucket (`openEndpointHealth`). */
  readonly endpointHealth: KV;
  /** False once the NATS connection is closed for good. */
  readonly natsOpen: () => boolean;
}

/** Registers `GET /v1/health`, `GET /v1/openapi.json` (both public) and `GET /v1/endpoints` (read). */
export function registerReadRoutes(app: FastifyInstance, deps: ReadRouteDeps): void {
  const openapi = readFileSync(OPENAPI_PATH);
  app.get('/v1/health', async (_request, reply) => {
    const ok = deps.natsOpen();
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'nats-closed' });
  });
  app.get('/v1/openapi.json', async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(openapi),
  );
  app.get('/v1/endpoints', { config: { scope: 'read' } }, async () => {
    const endpoints: EndpointView[] = [];
    for (const e of deps.config.endpoints) {
      const entry = await deps.endpointHealth.get(e.id);
      endpoints.push(view(e, entry?.operation === 'PUT' ? entry.value : undefined));
    }
    return { endpoints };
  });
}

/** An endpoint for the API: the URL without user, password, query or fragment; health by whitelist. */
export function view(e: EndpointConfig, health: Uint8Array | undefined): EndpointView {
  return { id: e.id, url: publicUrl(e.url), enabled: e.enabled, health: healthView(health) };
}

function publicUrl(raw: string): string {
  try {
    const u = new URL(raw);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

function healthView(bytes: Uint8Array | undefined): EndpointView['health'] {
  let h: Record<string, unknown> = {};
  try {
    const v: unknown = bytes === undefined ? {} : JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (typeof v === 'object' && v !== null) h = v as Record<string, unknown>;
  } catch {
    // A malformed record reads as healthy, as deliverers read it.
  }
  const num = (k: string): Record<string, number> => (typeof h[k] === 'number' ? { [k]: h[k] } : {});
  return {
    disabled: h.disabled === true,
    ...(typeof h.disabledReason === 'string' ? { disabledReason: h.disabledReason } : {}),
    ...num('failingSinceMs'),
    ...num('openUntilMs'),
    ...num('throttledUntilMs'),
  };
}
