import { describe, expect, it } from 'vitest';
import { reconnectDelayMs } from './backoff.js';

describe('reconnectDelayMs', () => {
  it('doubles from min and caps at max', () => {
    expect([1, 2, 3, 4].map((a) => reconnectDelayMs(a, 250, 1_000, 1))).toEqual([250, 500, 1_000, 1_000]);
    expect(reconnectDelayMs(100, 250, 30_000, 1)).toBe(30_000);
  });

  it('jitters within the upper half of the step', () => {
    expect(reconnectDelayMs(3, 250, 30_000, 0)).toBe(500);
    expect(reconnectDelayMs(3, 250, 30_000, 0.5)).toBe(750);
  });
});
