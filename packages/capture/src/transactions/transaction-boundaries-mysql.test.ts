import { describe, expect, it } from 'vitest';
import type { AnyBinlogEvent } from '@vlasky/zongji';
import { createLogger } from '@sluice/core';
import { TransactionBoundaries } from './transaction-boundaries.js';
import { TransactionTracker } from './transaction-tracker.js';

const logger = createLogger({ level: 'silent', pretty: false });
const ev = (name: string, fields: Record<string, unknown>): AnyBinlogEvent =>
  ({ getEventName: () => name, ...fields }) as unknown as AnyBinlogEvent;
const UUID = '5f1d7b2e-9c43-11ee-8c90-0242ac120002';
// zongji's AnonymousGtid event: SID zero, GNO 0, for every transaction.
const anonymous = (nextPosition: number) =>
  ev('anonymousgtid', { gtid: '00000000-0000-0000-0000-000000000000:0', nextPosition });

function setup(zongjiGtidSet: () => string | undefined) {
  const tracker = new TransactionTracker();
  const b = new TransactionBoundaries(tracker, { isMariaDb: false, zongjiGtidSet, logger });
  b.seed(undefined, 'binlog.000001');
  return { tracker, b };
}

describe('TransactionBoundaries on MySQL', () => {
  it('names anonymous transactions (gtid_mode=OFF) by position, so their event ids differ', () => {
    const { b } = setup(() => '');
    b.apply(anonymous(300));
    const first = b.current({ nextPosition: 400 }).id;
    b.apply(ev('xid', { nextPosition: 500 }));
    b.apply(anonymous(580));
    expect([first, b.current({ nextPosition: 700 }).id]).toEqual(['binlog.000001:300', 'binlog.000001:580']);
  });

  it('leaves an empty GTID set out of the checkpoint, which then resumes by file and position', () => {
    const { tracker, b } = setup(() => '');
    b.apply(anonymous(300));
    expect(b.apply(ev('xid', { nextPosition: 500 }))).toBe(true);
    expect(tracker.safe).toEqual({ file: 'binlog.000001', pos: 500 });
  });

  it('counts a DDL group in its own checkpoint, though zongji folds it in only at the next GTID', () => {
    const { tracker, b } = setup(() => `${UUID}:1-41`); // zongji's set while the DDL 42 is read
    b.apply(ev('gtid', { gtid: `${UUID}:42`, nextPosition: 900 }));
    expect(b.apply(ev('query', { query: 'CREATE TABLE t (id INT)', nextPosition: 1000 }))).toBe(true);
    expect(tracker.safe).toEqual({ file: 'binlog.000001', pos: 1000, gtid: `${UUID}:1-42` });
  });

  it('takes zongji set as it is for XID and COMMIT, which zongji has already folded', () => {
    let set = `${UUID}:1-42`;
    const { tracker, b } = setup(() => set);
    b.apply(ev('gtid', { gtid: `${UUID}:43`, nextPosition: 100 }));
    b.apply(ev('query', { query: 'BEGIN', nextPosition: 200 }));
    set = `${UUID}:1-43`;
    b.apply(ev('xid', { nextPosition: 300 }));
    expect(tracker.safe?.gtid).toBe(`${UUID}:1-43`);
  });
});
