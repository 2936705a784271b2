import { isSluiceError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { formatTime, parseCount, parseTime } from './time.js';

const NOW = Date.parse('2025-06-10T12:00:00Z');

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isSluiceError(err, 'SLUICE_USAGE')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('did not throw');
}

describe('parseTime', () => {
  it.each([
    ['30s', NOW - 30_000],
    ['30m', NOW - 1_800_000],
    ['2h', NOW - 7_200_000],
    ['1.5h', NOW - 5_400_000],
    ['7d', NOW - 7 * 86_400_000],
    ['1w', NOW - 7 * 86_400_000],
  ])('reads "%s" as a duration before now', (text, ms) => {
    expect(parseTime('--since', text, NOW)).toBe(ms);
  });

  it.each([
    ['2025-06-01T12:00:00Z', Date.parse('2025-06-01T12:00:00Z')],
    ['2025-06-01T12:00:00.250Z', Date.parse('2025-06-01T12:00:00.250Z')],
    ['2025-06-01T14:00:00+02:00', Date.parse('2025-06-01T12:00:00Z')],
    ['2025-06-01', Date.parse('2025-06-01T00:00:00Z')],
  ])('reads ISO 8601 "%s"', (text, ms) => {
    expect(parseTime('--until', text, NOW)).toBe(ms);
  });

  it.each(['', '30', '2 h', '-2h', 'yesterday', '2025-13-45', '2h ago'])('refuses "%s"', (text) => {
    expect(usage(() => parseTime('--since', text, NOW))).toContain('--since');
  });
});

describe('parseCount', () => {
  it('reads whole numbers from 1', () => {
    expect(parseCount('--limit', '1')).toBe(1);
    expect(parseCount('--limit', '250')).toBe(250);
  });

  it.each(['0', '-1', '1.5', 'ten', '', '1e3', '99999999999999999999'])('refuses "%s"', (text) => {
    expect(usage(() => parseCount('<seq>', text))).toContain('<seq>');
  });
});

describe('formatTime', () => {
  it('prints UTC to the second, and - when unknown', () => {
    expect(formatTime(Date.parse('2025-06-01T12:00:00.789Z'))).toBe('2025-06-01T12:00:00Z');
    expect(formatTime(undefined)).toBe('-');
  });
});
