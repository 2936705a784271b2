import { SluiceError, isSluiceError } from '@sluice/core';

/** How the capturer reacts to a failure of its binlog session. */
export type FailureAction =
  | { readonly kind: 'reconnect'; readonly error: Error }
  | { readonly kind: 'fatal'; readonly error: SluiceError };

// Node socket errors and mysql2 protocol errors: the server or network went away; a new session
// from the last checkpoint will do.
const TRANSIENT_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

// Server error numbers, matched on errno because mysql2 names MariaDB's numbers after unrelated
// MySQL errors (4052 arrives as ER_INVALID_MFA_PLUGIN_SPECIFIED).
const TRANSIENT_ERRNOS = new Set([
  1040, // too many connections
  1053, // server shutdown in progress
  1152, // aborted connection
  1184, // aborted new connection
  1927, // connection killed (MariaDB)
  2006, // server has gone away
  2013, // lost connection during query
  4052, // another replica connected with our server id (MariaDB): retry; logs say why
]);

const ER_MASTER_FATAL_ERROR_READING_BINLOG = 1236;

const RETRYABLE_CODES = new Set<string>([
  'SLUICE_PUBLISH_FAILED',
  'SLUICE_MYSQL_CONNECT',
  'SLUICE_CHECKPOINT_STALE',
  'SLUICE_RECONCILE_FAILED',
]);

/**
 * Classifies an error from zongji, mysql2, the publisher or preflight. Anything not known to be
 * transient is fatal: retrying a decode error or a bad position forever would hide it (I8 in
 * docs/architecture.md).
 */
export function classifyFailure(err: unknown): FailureAction {
  if (isSluiceError(err)) {
    // Lost PubAcks, an unreachable MySQL and an unwritable or unreadable NATS heal by themselves;
    // configuration and size problems do not.
    if (RETRYABLE_CODES.has(err.code)) return { kind: 'reconnect', error: err };
    return { kind: 'fatal', error: err };
  }
  const e = err as { code?: unknown; errno?: unknown; message?: unknown; fatal?: unknown };
  const message = String(e?.message ?? err);
  if (e?.errno === ER_MASTER_FATAL_ERROR_READING_BINLOG) {
    const purged = /purged|could not find|not find first log|too old/i.test(message);
    return {
      kind: 'fatal',
      error: new SluiceError(
        purged ? 'SLUICE_BINLOG_POSITION_PURGED' : 'SLUICE_BINLOG_STREAM',
        purged
          ? `the checkpointed binlog position is no longer on the server (${message}); events between the checkpoint and the oldest binlog are lost to capture — re-snapshot, or delete the checkpoint to restart at the end of the binlog`
          : `the server refused to stream the binlog: ${message}`,
        { cause: err },
      ),
    };
  }
  if (
    (typeof e?.code === 'string' && TRANSIENT_CODES.has(e.code)) ||
    (typeof e?.errno === 'number' && TRANSIENT_ERRNOS.has(e.errno))
  ) {
    return { kind: 'reconnect', error: err as Error };
  }
  return {
    kind: 'fatal',
    error: new SluiceError('SLUICE_BINLOG_STREAM', `binlog capture failed: ${message}`, { cause: err }),
  };
}

/**
 * Delay before reconnect attempt `attempt` (1-based): exponential from `minMs`, capped at `maxMs`, with
 * "equal jitter" — half the delay fixed, half random — so that capturers cut off by one outage do not
 * reconnect in lockstep, yet never retry faster than half the schedule.
 *
 * @param random - A number in [0, 1); injected so tests are deterministic.
 */
export function reconnectDelayMs(attempt: number, minMs: number, maxMs: number, random: number): number {
  const exp = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  const base = Math.max(minMs, exp);
  return Math.round(base / 2 + (base / 2) * random);
}
