import type { RoleContext, RoleHandle } from '@sluice/core';
import { createApiServer } from './server.js';

/** Starts the api role: the HTTP server on `api.host:api.port`; `url` is where it listens. */
export async function startApi(ctx: RoleContext): Promise<RoleHandle & { readonly url: string }> {
  const { config, nc, logger } = ctx;
  const server = await createApiServer({ config, logger, nc });
  try {
    const url = await server.listen();
    return { stop: () => server.close(), stats: () => server.stats(), url };
  } catch (err) {
    await server.close();
    throw err;
  }
}
