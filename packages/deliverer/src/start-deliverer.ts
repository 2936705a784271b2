import type { MainKey, RoleContext, RoleHandle } from '@sluice/core';
import { Deliverer } from './deliverer.js';

/** Starts the deliverer role: SLUICE_DELIVERIES → HTTP, with retries, breakers and limits. */
export async function startDeliverer(
  ctx: RoleContext & { readonly mainKey?: MainKey | undefined },
): Promise<RoleHandle> {
  const { config, nc, jsm, logger, mainKey } = ctx;
  const deliverer = new Deliverer({
    nc,
    jsm,
    nats: config.nats,
    deliverer: config.deliverer,
    endpoints: config.endpoints,
    subscriptions: config.subscriptions,
    logger,
    ...(mainKey ? { mainKey } : {}),
  });
  await deliverer.start();
  return {
    stop: () => deliverer.stop(),
    stats: () => {
      const { delivered, retried, deadLettered, parked } = deliverer.stats;
      const breakers = Object.entries(deliverer.breakers()).filter(([, state]) => state !== 'closed');
      return {
        delivered,
        retried,
        deadLettered,
        parked,
        ...(breakers.length ? { breakers: Object.fromEntries(breakers) } : {}),
      };
    },
  };
}
