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

// The three HTTP-date forms RFC 9110 §5.6.7 makes recipients accept. Anything else is refused before
// `Date.parse`, which is lenient in V8: "later 2" or "-1" parse as dates in 2001, and "abc 3000" as
// the year 3000 — a garbage header would otherwise hold a delivery for maxMs.
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const IMF_FIXDATE = new RegExp(`^${DAY}, \\d{2} ${MONTH} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT$`);
const RFC850_DATE = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \\d{2}-${MONTH}-\\d{2} \\d{2}:\\d{2}:\\d{2} GMT$`,
);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} [ \\d]\\d \\d{2}:\\d{2}:\\d{2} \\d{4}$`);

/**
 * Parses a `Retry-After` header (delta seconds or an HTTP date) into ms from `nowMs`;
 * `undefined` when absent or unparseable. A date in the past is 0.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (v === undefined || v === '') return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  let at = Number.NaN;
  if (IMF_FIXDATE.test(v) || RFC850_DATE.test(v)) at = Date.parse(v);
  // asctime carries no zone but means GMT; Date.parse would read it as local time.
  else if (ASCTIME_DATE.test(v)) at = Date.parse(`${v} GMT`);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
