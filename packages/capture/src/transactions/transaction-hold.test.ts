import { describe, expect, it } from 'vitest';
import type { CdcEventInput } from '@sluice/core';
import { LastEventHold } from './transaction-hold.js';
import { TransactionTracker, type OpenTransaction } from './transaction-tracker.js';

const input = (tx: OpenTransaction, rowIndex: number): CdcEventInput => ({
  id: `evt_${tx.id}_${rowIndex}`,
  sourceId: 's',
  change: { op: 'insert', database: 'd', table: 't', before: null, after: {}, changed: [], primaryKey: [] },
  commitTimeMs: 0,
  position: 'bin.000001:4',
  transaction: tx.id,
  rowIndex,
  key: String(rowIndex),
});
const end = { file: 'bin.000001', pos: 100 };

/** Feeds `n` captured events of `tx`, returning the indexes released as not-last along the way. */
function feed(hold: LastEventHold, tx: OpenTransaction, indexes: number[]): number[] {
  const out: number[] = [];
  for (const i of indexes) {
    hold.count(tx);
    const previous = hold.next(tx, input(tx, i));
    if (previous !== undefined) out.push(previous.input.rowIndex);
  }
  return out;
}

describe('LastEventHold', () => {
  it('holds one event at a time and marks the last with the count at the commit', () => {
    const tracker = new TransactionTracker();
    const hold = new LastEventHold();
    const tx = tracker.begin('0-1-5');
    expect(feed(hold, tx, [0, 1, 2])).toEqual([0, 1]);
    expect(hold.holding).toBe(true);
    tracker.commit(tx, end);
    const last = hold.release()!;
    expect(last.input).toMatchObject({ rowIndex: 2, transactionCount: 3 });
    expect(hold.holding).toBe(false);
    expect(hold.release()).toBeUndefined();
  });

  it('marks the only event of a one-row transaction as last, with count 1', () => {
    const tracker = new TransactionTracker();
    const hold = new LastEventHold();
    const tx = tracker.begin('0-1-6');
    expect(feed(hold, tx, [4])).toEqual([]); // index 4: rows of uncaptured tables came first
    tracker.commit(tx, end);
    expect(hold.release()!.input).toMatchObject({ rowIndex: 4, transactionCount: 1 });
  });

  it('counts events already stored (skipped on resume) in the transaction count', () => {
    const tracker = new TransactionTracker();
    const hold = new LastEventHold();
    const tx = tracker.begin('0-1-7');
    hold.count(tx); // index 0, found in the stream: not held, still counted
    hold.count(tx); // index 1, likewise
    feed(hold, tx, [2]);
    tracker.commit(tx, end);
    expect(hold.release()!.input).toMatchObject({ rowIndex: 2, transactionCount: 3 });
  });

  it('counts per transaction', () => {
    const tracker = new TransactionTracker();
    const hold = new LastEventHold();
    const a = tracker.begin('a');
    feed(hold, a, [0, 1]);
    tracker.commit(a, end);
    expect(hold.release()!.input.transactionCount).toBe(2);
    const b = tracker.begin('b');
    feed(hold, b, [0]);
    tracker.commit(b, end);
    expect(hold.release()!.input.transactionCount).toBe(1);
  });

  it('releases an event of a group whose end was never recognised unmarked', () => {
    const tracker = new TransactionTracker();
    const hold = new LastEventHold();
    const open = tracker.begin('unended');
    feed(hold, open, [0]);
    const next = tracker.begin('next'); // only rows of uncaptured tables, then its commit
    tracker.commit(next, end);
    const released = hold.release()!;
    expect(released.tx).toBe(open);
    expect(released.input.transactionCount).toBeUndefined();
  });

  it('hands over the previous event unmarked when the next transaction starts without a recognised end', () => {
    const tracker = new TransactionTracker();
    const hold = new LastEventHold();
    const open = tracker.begin('unended');
    feed(hold, open, [0]);
    const next = tracker.begin('next');
    hold.count(next);
    const previous = hold.next(next, input(next, 0))!;
    expect(previous.tx).toBe(open);
    expect(previous.input.transactionCount).toBeUndefined();
    tracker.commit(next, end);
    expect(hold.release()!.input).toMatchObject({ transaction: 'next', transactionCount: 1 });
  });
});
