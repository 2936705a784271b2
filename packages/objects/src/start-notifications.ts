import { s3Sources, startInOrder, type RoleContext, type RoleHandle } from '@sluice/core';
import { NotificationConsumer } from './notification-consumer.js';

/**
 * Starts a {@link NotificationConsumer} for every object-store source that receives its notifications
 * over NATS (docs/object-store.md); sources without `nats` are served by the HTTP API alone.
 */
export async function startObjectNotifications(ctx: RoleContext): Promise<RoleHandle> {
  const { config, nc, logger } = ctx;
  const consumers = s3Sources(config).flatMap((source) =>
    source.nats === undefined
      ? []
      : [
          new NotificationConsumer({
            source: { ...source, nats: source.nats },
            nats: config.nats,
            capture: config.capture,
            nc,
            logger,
          }),
        ],
  );
  await startInOrder(
    consumers,
    (n) => n.start(),
    (n) => n.stop(),
  );
  const sum = (key: keyof NotificationConsumer['stats']): number =>
    consumers.reduce((n, c) => n + c.stats[key], 0);
  return {
    stop: async () => {
      for (const n of consumers) await n.stop();
    },
    stats: () =>
      consumers.length === 0
        ? {}
        : {
            objectEventsPublished: sum('events'),
            notificationRecordsSkipped: sum('skippedRecords'),
            notificationsInvalid: sum('invalid'),
            notificationsRefused: sum('refused'),
          },
  };
}
