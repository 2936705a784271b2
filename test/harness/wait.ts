import { setTimeout as sleep } from 'node:timers/promises';

/** Options for {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many milliseconds. @default 10000 */
  timeoutMs?: number;
  /** Pause between attempts, in milliseconds. @default 25 */
  intervalMs?: number;
  /** What was awaited, for the timeout error. @default 'condition' */
  message?: string;
}

/**
 * Polls `predicate` until it returns `true`, or throws once `timeoutMs` has passed. A predicate that
 * throws counts as "not yet"; its last error becomes the timeout error's `cause`. The one way tests
 * wait for something: there are no bare sleeps.
 *
 * @throws Error `waitFor timed out after <n> ms: <message>`.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 25, message = 'condition' }: WaitForOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const remainingMs = deadline - Date.now();
    try {
      // A predicate that never settles (e.g. a query against a dead server) must not outlive the deadline.
      if (await withinMs(Promise.resolve().then(predicate), Math.max(remainingMs, 0))) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`waitFor timed out after ${timeoutMs} ms: ${message}${detail}`, { cause: lastError });
    }
    await sleep(Math.min(intervalMs, Math.max(deadline - Date.now(), 0)));
  }
}

async function withinMs(result: Promise<boolean>, ms: number): Promise<boolean> {
  const abort = new AbortController();
  try {
    return await Promise.race([result, sleep(ms, false, { signal: abort.signal })]);
  } finally {
    abort.abort();
  }
}
