import { describe, expect, it } from 'vitest';
import { Batcher, type Scheduler } from './batcher.js';

/** A scheduler driven by the test: `fire()` runs what is due, as the event loop would. */
function manualScheduler(): Scheduler & { fire(): void; scheduled: number[]; live: number } {
  let due: (() => void)[] = [];
  const s = ((fn: () => void, waitMs: number) => {
    s.scheduled.push(waitMs);
    due.push(fn);
    s.live++;
    return () => {
      if (due.includes(fn)) s.live--;
      due = due.filter((f) => f !== fn);
    };
  }) as Scheduler & { fire(): void; scheduled: number[]; live: number };
  s.scheduled = [];
  s.live = 0;
  s.fire = () => {
    const now = due;
    due = [];
    s.live -= now.length;
    for (const f of now) f();
  };
  return s;
}

function setup(maxItems: number, waitMs = 0) {
  const batches: number[][] = [];
  const clock = manualScheduler();
  const b = new Batcher<number>({ maxItems, waitMs }, (items) => batches.push(items), clock);
  return { b, batches, clock };
}

describe('Batcher', () => {
  it('dispatches a full batch at once, in order, without waiting for the deadline', () => {
    const { b, batches, clock } = setup(3);
    for (const i of [1, 2, 3, 4, 5, 6, 7]) b.add(i);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(b.pending).toBe(1);
    clock.fire();
    expect(batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(b.pending).toBe(0);
  });

  it('dispatches a partial batch when its deadline fires, with one deadline per batch', () => {
    const { b, batches, clock } = setup(64, 5);
    b.add(1);
    b.add(2);
    expect(batches).toEqual([]);
    expect(clock.scheduled).toEqual([5]);
    clock.fire();
    expect(batches).toEqual([[1, 2]]);
    b.add(3);
    expect(clock.scheduled).toEqual([5, 5]);
  });

  it('cancels the deadline of a batch that filled up, so no empty or early batch follows', () => {
    const { b, batches, clock } = setup(2);
    b.add(1);
    expect(clock.live).toBe(1);
    b.add(2);
    expect(clock.live).toBe(0);
    b.add(3);
    expect(clock.live).toBe(1);
    clock.fire();
    expect(batches).toEqual([[1, 2], [3]]);
  });

  it('flush() dispatches what is pending and nothing when empty', () => {
    const { b, batches, clock } = setup(10);
    b.flush();
    expect(batches).toEqual([]);
    b.add(1);
    b.flush();
    expect(batches).toEqual([[1]]);
    expect(clock.live).toBe(0);
    clock.fire();
    expect(batches).toEqual([[1]]);
  });

  it('with maxItems 1 dispatches every item alone and never schedules', () => {
    const { b, batches, clock } = setup(1);
    b.add(1);
    b.add(2);
    expect(batches).toEqual([[1], [2]]);
    expect(clock.scheduled).toEqual([]);
  });

  it('refuses a maxItems below 1', () => {
    expect(() => new Batcher({ maxItems: 0, waitMs: 0 }, () => undefined)).toThrow(RangeError);
  });
});
