import { describe, expect, it } from 'vitest';
import type { AnyBinlogEvent } from '@vlasky/zongji';
import { createLogger } from '@sluice/core';
import { TransactionBoundaries } from './transaction-boundaries.js';
import { TransactionTracker } from './transaction-tracker.js';

const logger = createLogger({ level: 'silent', pretty: false });
const ev = (name: string, fields: Record<string, unknown>): AnyBinlogEvent =>
  ({ getEventName: () => name, ...fields }) as unknown as AnyBinlogEvent;
const mgtid = (seq: number, nextPosition: number, standalone = false) =>
  ev('mariadbgtid', { gtid: `0-1-${seq}`, domainId: 0, serverId: 1, seqNo: seq, standalone, nextPosition });

function setup(isMariaDb: boolean, zongjiGtidSet: () => string | undefined = () => undefined) {
  const tracker = new TransactionTracker();
  const b = new TransactionBoundaries(tracker, { isMariaDb, zongjiGtidSet, logger });
  b.seed(isMariaDb ? '0-1-4' : undefined, 'bin.000007');
  return { tracker, b };
}

describe('TransactionBoundaries', () => {
  it('MariaDB: a GTID group ends at XID, a standalone DDL group at its query; GTID position covers both', () => {
    const { tracker, b } = setup(true);
    b.apply(mgtid(5, 100));
    expect(b.current({ nextPosition: 150 }).id).toBe('0-1-5');
    expect(b.apply(ev('xid', { nextPosition: 200 }))).toBe(true);
    expect(tracker.safe).toEqual({ file: 'bin.000007', pos: 200, gtid: '0-1-5' });
    b.apply(mgtid(6, 250, true));
    expect(b.apply(ev('query', { query: 'CREATE TABLE t (id INT)', nextPosition: 300 }))).toBe(true);
    expect(tracker.safe).toEqual({ file: 'bin.000007', pos: 300, gtid: '0-1-6' });
  });

  it('follows rotate events into the next file', () => {
    const { tracker, b } = setup(true);
    b.apply(ev('rotate', { binlogName: 'bin.000008', position: 4, nextPosition: 0 }));
    b.apply(mgtid(5, 120));
    b.apply(ev('xid', { nextPosition: 180 }));
    expect(tracker.safe?.file).toBe('bin.000008');
  });

  it('MySQL: BEGIN … COMMIT is one transaction, a query right after the GTID event is DDL', () => {
    const { tracker, b } = setup(false, () => 'uuid:1-9');
    b.apply(ev('gtid', { gtid: 'uuid:8', nextPosition: 100 }));
    expect(b.apply(ev('query', { query: 'BEGIN', nextPosition: 150 }))).toBe(false);
    expect(b.apply(ev('query', { query: 'COMMIT', nextPosition: 300 }))).toBe(true);
    b.apply(ev('gtid', { gtid: 'uuid:9', nextPosition: 350 }));
    expect(b.apply(ev('query', { query: 'ALTER TABLE t ADD c INT', nextPosition: 400 }))).toBe(true);
    expect(tracker.safe).toEqual({ file: 'bin.000007', pos: 400, gtid: 'uuid:1-9' });
    expect(tracker.committed).toBe(2);
  });

  it('names a transaction without GTID by file:pos where its first event ends', () => {
    const { b } = setup(false);
    b.apply(ev('anonymousgtid', { nextPosition: 500 }));
    expect(b.current({ nextPosition: 600 }).id).toBe('bin.000007:500');
  });
});
