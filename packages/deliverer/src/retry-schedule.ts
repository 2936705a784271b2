/** A retry policy, as data (config `deliverer.retrySchedule`, overridable per endpoint and subscription). */
export interface RetryPolicy {
  /**
   * Delay before each attempt, ms: `schedule[0]` before the first, `schedule[n]` between attempt n and
   * n + 1. Its length is the number of attempts; once they are spent the delivery is dead-lettered.
   */
  readonly schedule: readonly number[];
  /** Fraction of each delay randomised either way, 0–1: 0.2 turns 5 min into 4–6 min. */
  readonly jitter: number;
  /** Longest `Retry-After` honoured, ms; longer ones are clamped to it. */
  readonly retryAfterMaxMs: number;
}

/** What follows a failed attempt. */
export type NextAttempt =
  | {
      readonly kind: 'retry';
      /** 1-based number of the next attempt. */ readonly attempt: number;
      readonly delayMs: number;
    }
  | { readonly kind: 'exhausted'; /** Attempts made. */ readonly attempts: number };

/**
 * The next attempt after attempt `failed` (1-based) failed: its scheduled delay with ±jitter, or the
 * endpoint's `Retry-After` when that is longer (clamped to `retryAfterMaxMs`), or `exhausted` when the
 * schedule has no more entries. Pure: the random source is injected.
 */
export function nextAttempt(
  failed: number,
  policy: RetryPolicy,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): NextAttempt {
  const index = Math.max(1, Math.floor(failed));
  const planned = policy.schedule[index];
  if (planned === undefined) return { kind: 'exhausted', attempts: index };
  const jittered = Math.max(0, Math.round(planned * (1 - policy.jitter + 2 * policy.jitter * random())));
  const asked = retryAfterMs === undefined ? 0 : Math.min(policy.retryAfterMaxMs, Math.max(0, retryAfterMs));
  return { kind: 'retry', attempt: index + 1, delayMs: Math.max(jittered, asked) };
}

/** The schedule's whole span, ms without jitter: how long a delivery is retried before it is dead-lettered. */
export function scheduleSpanMs(schedule: readonly number[]): number {
  return schedule.reduce((a, b) => a + b, 0);
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
