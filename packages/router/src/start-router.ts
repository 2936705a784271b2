import type { RoleContext, RoleHandle } from '@sluice/core';
import { Router } from './router.js';

/** Starts the router role: SLUICE_EVENTS → SLUICE_DELIVERIES for every partition this process owns. */
export async function startRouter(ctx: RoleContext): Promise<RoleHandle> {
  const { config, nc, jsm, logger } = ctx;
  const router = new Router({
    nc,
    jsm,
    nats: config.nats,
    router: config.router,
    subscriptions: config.subscriptions,
    endpoints: config.endpoints,
    logger,
  });
  await router.start();
  return {
    stop: () => router.stop(),
    stats: () => ({
      eventsRouted: router.stats.eventsRouted,
      deliveriesPublished: router.stats.deliveriesPublished,
    }),
  };
}
