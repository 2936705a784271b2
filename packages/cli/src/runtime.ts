import type { NatsConnection } from '@nats-io/transport-node';
import { startApi } from '@sluice/api';
import { startCapture } from '@sluice/capture';
import { startDeliverer } from '@sluice/deliverer';
import { startObjectNotifications } from '@sluice/objects';
import { startRouter } from '@sluice/router';
import {
  connectNats,
  provisionAll,
  type Config,
  type Logger,
  type MainKey,
  type RoleContext,
  type RoleHandle,
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

type Part = RoleHandle & { readonly url?: string };

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
      parts.push(await startRole(role, { config, nc, jsm, logger }, options));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const all = together(parts);
  return {
    done: all.done ?? new Promise<void>(() => {}),
    stats: () => all.stats(),
    readiness: () => all.readiness?.(),
    apiUrl: parts.find((p) => p.url !== undefined)?.url,
    stop,
  };
}

/** Starts one role on its own connection: each role package's `start…()`, behind one shape. */
async function startRole(role: Role, ctx: RoleContext, options: RoleOptions): Promise<Part> {
  switch (role) {
    case 'api':
      return startApi(ctx);
    case 'capture': {
      // Binlog sources and object-store notifications over NATS: two producers, one role.
      const binlog = await startCapture(ctx);
      try {
        return together([binlog, await startObjectNotifications(ctx)]);
      } catch (err) {
        await binlog.stop();
        throw err;
      }
    }
    case 'router':
      return startRouter(ctx);
    case 'deliverer':
      return startDeliverer({ ...ctx, mainKey: options.mainKey });
  }
}

/** Several roles as one: stopped in order, stats merged, ready when all are, failed when one fails. */
function together(parts: readonly RoleHandle[]): RoleHandle {
  const fatal = parts.flatMap((p) => (p.done ? [p.done] : []));
  return {
    stop: async () => {
      for (const p of parts) await p.stop();
    },
    stats: () => Object.assign({}, ...parts.map((p) => p.stats())) as Record<string, unknown>,
    readiness: () => {
      const each = parts.map((p) => (p.readiness ? p.readiness() : {}));
      return each.some((r) => r === undefined)
        ? undefined
        : (Object.assign({}, ...each) as Record<string, string>);
    },
    ...(fatal.length > 0 ? { done: Promise.race(fatal) } : {}),
  };
}
