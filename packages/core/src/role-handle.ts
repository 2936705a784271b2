import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from './config-schema.js';
import type { Logger } from './logger.js';

/**
 * A running role, as every role package's `start…()` returns it: `sluice up` runs several in one
 * process, the role commands one each, and both treat them alike.
 */
export interface RoleHandle {
  /** Stops gracefully: in-flight work is finished or handed back; resolves once stopped. Idempotent. */
  stop(): Promise<void>;
  /** Counters for the progress line, e.g. `{ eventsRouted: 12 }`. Names are unique across roles. */
  stats(): Record<string, unknown>;
  /** Rejects when the role fails for good (e.g. `SLUICE_BINLOG_POSITION_PURGED`); never resolves otherwise. */
  readonly done?: Promise<void>;
  /**
   * Once the role does what it is for, what it started from (capture: source id → binlog position);
   * undefined before. Roles that are ready as soon as they start leave it out.
   */
  readiness?(): Record<string, string> | undefined;
}

/** What every role's `start…()` is given: the configuration and its own NATS connection. */
export interface RoleContext {
  readonly config: Config;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly logger: Logger;
}

/**
 * Starts `parts` one after the other; when one fails, stops those already started (newest first) and
 * rethrows, so that a role that cannot start leaves nothing running behind.
 */
export async function startInOrder<T>(
  parts: readonly T[],
  start: (part: T) => Promise<void>,
  stop: (part: T) => Promise<void>,
): Promise<void> {
  const started: T[] = [];
  try {
    for (const p of parts) {
      await start(p);
      started.push(p);
    }
  } catch (err) {
    for (const p of started.reverse()) await stop(p).catch(() => undefined);
    throw err;
  }
}
