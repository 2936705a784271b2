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
