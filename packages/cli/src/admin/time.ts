import { SluiceError } from '@sluice/core';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const RELATIVE = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/;
// A date, optionally with a time: ISO 8601 as Date.parse reads it. Bare numbers are refused, since
// "30" could mean seconds, minutes or a year.
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Reads a `--since`/`--until` value: an ISO 8601 time (`2025-06-01T12:00:00Z`, `2025-06-01`) or a
 * duration before `nowMs` (`30s`, `30m`, `2h`, `7d`, `1w`).
 * @returns ms since the epoch.
 * @throws SluiceError `SLUICE_USAGE` for anything else.
 */
export function parseTime(label: string, text: string, nowMs: number): number {
  const rel = durationMs(text);
  if (rel !== undefined) return nowMs - rel;
  const ms = ISO.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms))
    throw new SluiceError(
      'SLUICE_USAGE',
      `${label} "${text}" is neither an ISO 8601 time (2025-06-01T12:00:00Z) nor a duration ago (30m, 2h, 7d)`,
    );
  return ms;
}

/**
 * Reads a duration (`30s`, `30m`, `2h`, `7d`, `1w`), e.g. `--overlap` or `--timeout`.
 * @returns milliseconds.
 * @throws SluiceError `SLUICE_USAGE` for anything else.
 */
export function parseDuration(label: string, text: string): number {
  const ms = durationMs(text);
  if (ms === undefined)
    throw new SluiceError('SLUICE_USAGE', `${label} "${text}" is not a duration (30s, 30m, 24h, 7d)`);
  return ms;
}

function durationMs(text: string): number | undefined {
  const m = RELATIVE.exec(text);
  return m ? Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]) : undefined;
}

/**
 * Reads a positive whole number, such as `--limit` or the `<seq>` of a dead letter.
 * @param label how the command line names it in an error: `--limit`, `<seq>`.
 * @throws SluiceError `SLUICE_USAGE` unless `text` is a whole number ≥ 1.
 */
export function parseCount(label: string, text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new SluiceError('SLUICE_USAGE', `${label} "${text}" is not a whole number ≥ 1`);
  return n;
}

/** A time for tables: ISO 8601 in UTC to the second, or `-` when unknown. */
export function formatTime(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
