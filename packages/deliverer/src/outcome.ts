import type { HttpResult } from './http-dispatch.js';
import { nextAttempt, parseRetryAfter, type RetryPolicy } from './retry-schedule.js';

/**
 * What one delivery attempt came to. Expected results are values, not exceptions, and only plain
 * data. One function ({@link classify}) makes them from an HTTP result; the deliverer maps each kind
 * to exactly one action on the message (decision 0007):
 * - `delivered` → ack;
 * - `retry` → republish to the retries stream, due after `delayMs`, then ack;
 * - `dead-letter` → publish to the DLQ, then ack;
 * - `gone` → the endpoint is disabled; the message is put back (nak) unattempted, for when it is enabled;
 * - `parked` → not attempted (breaker open, throttled, disabled): nak until the gate reopens.
 */
export type Outcome =
  | { readonly kind: 'delivered'; readonly status: number; readonly latencyMs: number }
  | {
      readonly kind: 'retry';
      /** 1-based number of the next attempt. */
      readonly attempt: number;
      /** Wait before the next attempt, ms. */
      readonly delayMs: number;
      /** Stable reason: `http-status`, `timeout`, `network`, `blocked`. */
      readonly reason: string;
      readonly status?: number;
      readonly error?: string;
      readonly excerpt?: string;
      readonly latencyMs?: number;
    }
  | {
      readonly kind: 'dead-letter';
      /** `exhausted`, `non-retryable-status` or `blocked` (the URL itself breaks the network policy). */
      readonly reason: string;
      /** Attempts made. */
      readonly attempts: number;
      readonly status?: number;
      readonly error?: string;
      readonly excerpt?: string;
      readonly latencyMs?: number;
    }
  | { readonly kind: 'gone'; readonly status: number; readonly latencyMs: number }
  | { readonly kind: 'parked'; readonly delayMs: number };

/** What an attempt says about its endpoint (for the breaker, the throttle and health). */
export interface EndpointSignal {
  /** Counts as a failure for the breaker (its ratio and its run): no response, 3xx, 5xx (except as noted). */
  readonly failure: boolean;
  /** The endpoint asked to be slowed (429, 502, 503, 504 by default). */
  readonly throttle: boolean;
  /** How long the endpoint asked to be left alone (`Retry-After`, clamped), ms. */
  readonly pauseMs?: number;
  /** 410 Gone: disable the endpoint. */
  readonly gone: boolean;
}

/** Statuses with a meaning of their own (config `deliverer.nonRetryableStatuses`, `throttleStatuses`). */
export interface StatusPolicy {
  readonly nonRetryable: ReadonlySet<number>;
  readonly throttle: ReadonlySet<number>;
}

/** The outcome of an attempt and what it says about the endpoint. */
export interface Classified {
  readonly outcome: Outcome;
  readonly signal: EndpointSignal;
}

const GONE = 410;
const QUIET: EndpointSignal = { failure: false, throttle: false, gone: false };

/**
 * Classifies attempt `attempt` (1-based) of a delivery: 2xx delivered; 410 gone; a non-retryable status
 * dead-lettered at once; everything else (3xx — never followed —, 5xx, 429, timeouts, network errors)
 * retried on the schedule, or dead-lettered when the schedule is spent. A throttling status slows the
 * endpoint and, with `Retry-After`, pauses it; a non-throttling failure counts against the breaker.
 *
 * A connection the network policy refused (`blocked`, nothing sent) is a failure like a network
 * error: retried on the schedule when a DNS answer refused it — the answer can change back — but
 * dead-lettered at once when the URL itself is refused, which only a configuration change can fix
 * (docs/network-policy.md).
 */
export function classify(
  r: HttpResult,
  attempt: number,
  retry: RetryPolicy,
  statuses: StatusPolicy,
  nowMs: number,
  random: () => number = Math.random,
): Classified {
  if (!r.ok) {
    const failed = { reason: r.error, error: r.error, excerpt: r.message, latencyMs: r.latencyMs };
    if (r.error === 'blocked' && r.permanent === true) {
      const { error, excerpt, latencyMs } = failed;
      return {
        outcome: { kind: 'dead-letter', reason: 'blocked', attempts: attempt, error, excerpt, latencyMs },
        signal: { ...QUIET, failure: true },
      };
    }
    return {
      outcome: retryOrDead(attempt, retry, undefined, failed, random),
      signal: { ...QUIET, failure: true },
    };
  }
  const { status, latencyMs, excerpt } = r;
  if (status >= 200 && status < 300)
    return { outcome: { kind: 'delivered', status, latencyMs }, signal: QUIET };
  if (status === GONE)
    return { outcome: { kind: 'gone', status, latencyMs }, signal: { ...QUIET, gone: true } };
  if (statuses.nonRetryable.has(status))
    return {
      outcome: {
        kind: 'dead-letter',
        reason: 'non-retryable-status',
        attempts: attempt,
        status,
        excerpt,
        latencyMs,
      },
      signal: QUIET,
    };
  const throttle = statuses.throttle.has(status);
  const retryAfter = throttle ? parseRetryAfter(r.headers['retry-after'], nowMs) : undefined;
  const pauseMs = retryAfter === undefined ? undefined : Math.min(retry.retryAfterMaxMs, retryAfter);
  const outcome = retryOrDead(
    attempt,
    retry,
    retryAfter,
    { reason: 'http-status', status, excerpt, latencyMs },
    random,
  );
  // 429 says "too many", not "broken": it slows the endpoint but does not open its breaker.
  return { outcome, signal: { failure: status !== 429, throttle, pauseMs, gone: false } };
}

function retryOrDead(
  attempt: number,
  retry: RetryPolicy,
  retryAfterMs: number | undefined,
  detail: { reason: string; status?: number; error?: string; excerpt?: string; latencyMs: number },
  random: () => number,
): Outcome {
  const next = nextAttempt(attempt, retry, retryAfterMs, random);
  if (next.kind === 'exhausted') {
    const { reason: _, ...rest } = detail;
    return { kind: 'dead-letter', reason: 'exhausted', attempts: next.attempts, ...rest };
  }
  return { kind: 'retry', attempt: next.attempt, delayMs: next.delayMs, ...detail };
}
