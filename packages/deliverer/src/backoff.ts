/** Inputs of {@link retryDelayMs}. */
export interface BackoffPolicy {
  /** Delay before the second attempt, ms. */
  readonly minMs: number;
  /** Longest delay, ms. */
  readonly maxMs: number;
  /** Fraction of the delay randomised, 0–1. @default 0.2 */
  readonly jitter?: number;
}

/**
 * Delay before the next attempt after `attempt` failed attempts (1-based): exponential from `minMs`,
 * capped at `maxMs`, with ±jitter; a `Retry-After` from the endpoint wins when it is longer, within
 * `maxMs`. Pure: the random source is injected. The full schedule-as-data arrives with the delivery
 * engine; this is the seam it replaces.
 */
export function retryDelayMs(
  attempt: number,
  policy: BackoffPolicy,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxMs, policy.minMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  const jitter = policy.jitter ?? 0.2;
  const jittered = Math.round(exp * (1 - jitter + 2 * jitter * random()));
  const base = Math.min(policy.maxMs, jittered);
  return retryAfterMs === undefined ? base : Math.min(policy.maxMs, Math.max(base, retryAfterMs));
}

/**
 * Parses a `Retry-After` header (delta seconds or an HTTP date) into ms from `nowMs`;
 * `undefined` when absent or unparseable.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
