import { describe, expect, test } from 'vitest';
import { StoredEvents, StreamFloor, comparePositions } from './reconcile-floor.js';
import type { BinlogPosition, OpenTransaction } from '../transactions/transaction-tracker.js';

const end = (pos: number, file = 'bin.000001'): BinlogPosition => ({ file, pos });
function tx(id: string): OpenTransaction {
  return { id, nextRowIndex: 0, pending: 0, end: undefined };
}
const ack = (seq: number, duplicate = false) => ({ stream: 'S', seq, duplicate });

describe('comparePositions', () => {
  test('orders by file number, then offset', () => {
    expect(comparePositions(end(900), end(1_000))).toBeLessThan(0);
    expect(comparePositions(end(4, 'bin.000002'), end(9_000, 'bin.000001'))).toBeGreaterThan(0);
    expect(comparePositions(end(4, 'bin.1000000'), end(4, 'bin.999999'))).toBeGreaterThan(0);
    expect(comparePositions(end(7), end(7))).toBe(0);
  });
});

describe('StoredEvents', () => {
  test('keeps the first copy of an id and reports the lowest sequence not taken', () => {
    const s = new StoredEvents();
    s.add('a', 10);
    s.add('b', 11);
    s.add('a', 30);
    expect(s.lowestSeq).toBe(10);
    expect(s.take('a')).toBe(10);
    expect(s.take('a')).toBeUndefined();
    expect(s.lowestSeq).toBe(11);
    expect(s.take('b')).toBe(11);
    expect(s.lowestSeq).toBeUndefined();
  });

  test('ids taken out of order leave the lowest remaining one in place', () => {
    const s = new StoredEvents();
    for (let i = 1; i <= 5; i++) s.add(`e${i}`, i);
    s.take('e2');
    s.take('e3');
    expect(s.lowestSeq).toBe(1);
    s.take('e1');
    expect(s.lowestSeq).toBe(4);
    expect(s.size).toBe(2);
  });
});

describe('StreamFloor', () => {
  test('without anything known, stays unknown', () => {
    const f = new StreamFloor(undefined);
    expect(f.at(end(100))).toBeUndefined();
  });

  test('advances to the highest PubAck sequence of the rows up to the position, not beyond', () => {
    const f = new StreamFloor(40);
    const [t1, t2] = [tx('1'), tx('2')];
    f.published(t1);
    f.published(t2);
    f.acked(t2, ack(52)); // a later transaction acknowledged first
    f.acked(t1, ack(50));
    f.acked(t1, ack(51));
    t1.end = end(100);
    expect(f.at(end(100))).toBe(51);
    t2.end = end(200);
    expect(f.at(end(200))).toBe(52);
  });

  test('keeps the inherited floor while nothing up to the position was published', () => {
    const f = new StreamFloor(40);
    const t1 = tx('1');
    f.published(t1);
    f.acked(t1, ack(60));
    expect(f.at(end(50))).toBe(40); // t1 has not ended: it lies after the position
  });

  test('skips rows found by the scan, and stays below found copies the replay has not reached', () => {
    const stored = new StoredEvents();
    stored.add('r1', 41);
    stored.add('r2', 42);
    stored.add('r3', 43);
    const f = new StreamFloor(40, stored);
    const t1 = tx('1');
    expect(f.alreadyStored(t1, 'r1')).toBe(true);
    expect(f.alreadyStored(t1, 'other')).toBe(false);
    expect(f.skipped).toBe(1);
    t1.end = end(100);
    expect(f.at(end(100))).toBe(41); // r2, r3 still ahead: above 41 only
    const t2 = tx('2');
    f.alreadyStored(t2, 'r2');
    f.alreadyStored(t2, 'r3');
    expect(f.at(end(100))).toBe(41); // taken, but their transaction is still open
    t2.end = end(200);
    expect(f.at(end(200))).toBe(43);
  });

  test('a duplicate PubAck of a later transaction holds the floor below that older copy', () => {
    const f = new StreamFloor(10);
    const [t1, t2] = [tx('1'), tx('2')];
    f.published(t1);
    f.acked(t1, ack(90)); // stored anew: its old copy had left the dedupe window
    f.published(t2);
    f.acked(t2, ack(20, true)); // deduplicated against a copy stored before this session
    t1.end = end(100);
    expect(f.at(end(100))).toBe(19);
    t2.end = end(200);
    expect(f.at(end(200))).toBe(90);
  });
});
