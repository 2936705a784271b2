import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  SluiceError,
  keyFromAuthorization,
  keyMatches,
  parseApiKey,
  scopeAllows,
  type ApiKeyCache,
  type ApiKeyRecord,
  type ApiKeyScope,
} from '@sluice/core';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The API key scope the route needs; a route without one is public (health, OpenAPI). */
    scope?: ApiKeyScope;
  }
  interface FastifyRequest {
    /** The id of the API key the request was authorised with (never the key). */
    apiKeyId?: string;
  }
}

function required(message: string): SluiceError {
  return new SluiceError('SLUICE_AUTH_REQUIRED', message);
}

/**
 * The `onRequest` hook that enforces each route's `config.scope` before any of the body is read:
 * 401 `SLUICE_AUTH_REQUIRED` without a key, or with a malformed, unknown or revoked one; 403
 * `SLUICE_AUTH_FORBIDDEN` for a valid key outside the route's scope. The key is compared by its
 * SHA-256 in constant time; only its id is kept on the request for logs.
 */
export function authHook(
  keys: Pick<ApiKeyCache, 'lookup'>,
  now: () => number = Date.now,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request) => {
    const need = request.routeOptions.config.scope;
    if (need === undefined) return;
    const key = keyFromAuthorization(request.headers.authorization);
    if (key === undefined) throw required('an API key is required: Authorization: Bearer <API key>');
    const parsed = parseApiKey(key);
    if (!parsed) throw required('the API key is malformed');
    let record: ApiKeyRecord | undefined;
    try {
      record = await keys.lookup(parsed.id, now());
    } catch (cause) {
      throw new SluiceError('SLUICE_NATS_CONNECT', 'cannot read the API keys bucket', { cause });
    }
    if (!record || !keyMatches(key, record)) throw required('the API key is not valid');
    if (record.revokedAt !== undefined) throw required('the API key was revoked');
    if (!scopeAllows(record.scope, need))
      throw new SluiceError(
        'SLUICE_AUTH_FORBIDDEN',
        `this route needs a key of scope ${need}; the key's scope is ${record.scope}`,
      );
    request.apiKeyId = record.id;
  };
}
