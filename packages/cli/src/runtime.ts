import type { NatsConnection } from '@nats-io/transport-node';
import { createApiServer } from '@sluice/api';
import { BinlogCapture } from '@sluice/capture';
import { NotificationConsumer } from '@sluice/objects';
import { Deliverer } from '@sluice/deliverer';
import { Router } from '@sluice/router';
import {
  SluiceError,
  connectNats,
  mysqlSources,
  s3Sources,
  openCheckpoints,
  openLeases,
  provisionAll,
  type Config,
  type Logger,
  type MainKey,
} from '@sluice/core';

/** A role a process can run. */
export type Role = 'capture' | 'router' | 'deliverer' | 'api';

/** Running roles. */
export interface Runtime {
  /** Rejects when a role fails fatally (e.g. the binlog position was purged). */
  readonly done: Promise<void>;
  /** One line of counters for progress output. */
  stats(): Record<string, unknown>;
  /**
   * Once every capture source reads the binlog, the position each started from (source id → text);
   * undefined before. Roles without capture are ready at once (`{}`).
   */
  readiness(): Record<string, string> | undefined;
  /** The HTTP API's base URL, when the api role runs (`http://127.0.0.1:8480`). */
  readonly apiUrl: string | undefined;
  /**
   * Stops every role gracefully, in the order given: the producers (api, capture) first, so that the
   * rest can drain what they published.
   */
  stop(): Promise<void>;
}

interface Part {
  readonly stop: () => Promise<void>;
  readonly readiness?: () => Record<string, string> | undefined;
  readonly stats: () => Record<string, unknown>;
  readonly done?: Promise<void>;
  readonly url?: string;
}

/** What the cli resolved from the environment for the roles. */
export interface RoleOptions {
  /** Seals managed signing secrets (main-key.ts); the deliverer needs it for managed secrets. */
  readonly mainKey?: MainKey | undefined;
}

/** Starts the given roles against an already-resolved configuration (every URL set). */
export async function startRoles(
  config: Config,
  roles: readonly Role[],
  logger: Logger,
  options: RoleOptions = {},
): Promise<Runtime> {
  const parts: Part[] = [];
  const connections: NatsConnection[] = [];
  const stop = async (): Promise<void> => {
    for (const p of parts)
      await p.stop().catch((err: unknown) => logger.error({ err }, 'error while stopping'));
    // drain, not close: acks and naks issued during the stop must reach the server, or their messages
    // would wait out ack_wait before anyone else may take them.
    await Promise.allSettled(connections.map((nc) => nc.drain()));
  };
  try {
    for (const role of roles) {
      // One connection per role, as separate processes would have: a slow deliverer socket must not
      // delay capture's PubAcks.
      const { nc, jsm } = await connectNats(config.nats, {
        name: `sluice-${role}`,
        // A refused publish or subscribe (docs/nats-security.md) is otherwise only a timeout later.
        onServerError: (message) => logger.error({ role }, `NATS: ${message}`),
      });
      connections.push(nc);
      // nats.provision false: a user without create rights; streams and buckets are only looked up.
      if (connections.length === 1 && config.nats.provision) await provisionAll(nc, jsm, config);
      parts.push(await startRole(role, config, nc, jsm, logger, options));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const fatal = parts.flatMap((p) => (p.done ? [p.done] : []));
  return {
    done: fatal.length > 0 ? Promise.race(fatal) : new Promise<void>(() => {}),
    stats: () => Object.assign({}, ...parts.map((p) => p.stats())) as Record<string, unknown>,
    readiness: () => {
      const each = parts.map((p) => (p.readiness ? p.readiness() : {}));
      return each.some((r) => r === undefined) ? undefined : Object.assign({}, ...each);
    },
    apiUrl: parts.find((p) => p.url !== undefined)?.url,
    stop,
  };
}

async function startRole(
  role: Role,
  config: Config,
  nc: NatsConnection,
  jsm: Parameters<typeof provisionAll>[1],
  logger: Logger,
  options: RoleOptions,
): Promise<Part> {
  switch (role) {
    case 'api': {
      const server = await createApiServer({ config, logger, nc });
      try {
        const url = await server.listen();
        return { stop: () => server.close(), stats: () => server.stats(), url };
      } catch (err) {
        await server.close();
        throw err;
      }
    }
    case 'capture': {
      const checkpoints = await openCheckpoints(nc, config.nats);
      // Every capture process takes its sources' leases: run two for a hot standby.
      const leases = await openLeases(nc, config.nats);
      const captures = mysqlSources(config).map((source) => {
        if (source.url === undefined)
          throw new SluiceError('SLUICE_CONFIG_INVALID', `source ${source.id} has no url`);
        return new BinlogCapture({
          source: { ...source, url: source.url },
          nats: config.nats,
          capture: config.capture,
          nc,
          checkpoints,
          leases,
          logger,
        });
      });
      // Object-store sources over NATS (docs/object-store.md); those without `nats` are HTTP only.
      const notifications = s3Sources(config).flatMap((source) =>
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
      for (const c of captures) await c.start();
      for (const n of notifications) await n.start();
      return {
        readiness: () => {
          const ready: Record<string, string> = {};
          for (const [i, c] of captures.entries()) {
            const s = c.stats() as { ready?: boolean; position?: string };
            if (s.ready !== true) return undefined;
            ready[mysqlSources(config)[i]!.id] = s.position ?? '';
          }
          return ready;
        },
        stop: async () => {
          for (const n of notifications) await n.stop();
          for (const c of captures) await c.stop();
        },
        stats: () => {
          const all = captures.map((c) => c.stats());
          const standby = all.filter((c) => c.role === 'standby').length;
          const sum = (key: keyof NotificationConsumer['stats']): number =>
            notifications.reduce((n, c) => n + c.stats[key], 0);
          return {
            rowsPublished: all.reduce((n, c) => n + c.rowsPublished, 0),
            ...(standby > 0 ? { sourcesOnStandby: standby } : {}),
            ...(notifications.length > 0
              ? {
                  objectEventsPublished: sum('events'),
                  notificationRecordsSkipped: sum('skippedRecords'),
                  notificationsInvalid: sum('invalid'),
                  notificationsRefused: sum('refused'),
                }
              : {}),
          };
        },
        // With no sources there is nothing to wait for; an already-resolved `done` would end the
        // whole process, router and deliverer included, right after start-up.
        ...(captures.length > 0
          ? { done: Promise.all(captures.map((c) => c.done)).then(() => undefined) }
          : {}),
      };
    }
    case 'router': {
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
    case 'deliverer': {
      const deliverer = new Deliverer({
        nc,
        jsm,
        nats: config.nats,
        deliverer: config.deliverer,
        endpoints: config.endpoints,
        subscriptions: config.subscriptions,
        logger,
        ...(options.mainKey ? { mainKey: options.mainKey } : {}),
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
  }
}
