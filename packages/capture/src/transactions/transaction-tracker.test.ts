import { describe, expect, it } from 'vitest';
import { TransactionTracker } from './transaction-tracker.js';

const pos = (n: number) => ({ file: 'bin.000001', pos: n, gtid: `0-1-${n}` });

describe('TransactionTracker', () => {
  it('advances only when a transaction is committed and every row is acked', () => {
    const t = new TransactionTracker();
    const a = t.begin('0-1-1');
    t.published(a);
    t.published(a);
    t.commit(a, pos(1));
    expect(t.safe).toBeUndefined();
    t.acked(a);
    expect(t.safe).toBeUndefined();
    t.acked(a);
    expect(t.safe).toEqual(pos(1));
    expect(t.inFlight).toBe(0);
  });

  it('never passes an earlier transaction that still awaits acks', () => {
    const t = new TransactionTracker();
    const a = t.begin('a');
    t.published(a);
    t.commit(a, pos(1));
    const b = t.begin('b');
    t.published(b);
    t.commit(b, pos(2));
    t.acked(b);
    expect(t.safe).toBeUndefined();
    t.acked(a);
    expect(t.safe).toEqual(pos(2));
  });

  it('lets transactions without rows advance the position once earlier ones are done', () => {
    const t = new TransactionTracker();
    const a = t.begin('a');
    t.published(a);
    t.commit(a, pos(1));
    const ddl = t.begin('ddl');
    t.commit(ddl, pos(2));
    expect(t.safe).toBeUndefined();
    t.acked(a);
    expect(t.safe).toEqual(pos(2));
    expect(t.committed).toBe(2);
  });

  it('holds an uncommitted transaction even with every row acked', () => {
    const t = new TransactionTracker();
    const a = t.begin('a');
    t.published(a);
    t.acked(a);
    expect(t.safe).toBeUndefined();
    expect(t.inFlight).toBe(1);
  });
});
