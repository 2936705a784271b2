import { describe, expect, it } from 'vitest';
import { readEvent, readEventId } from './backfill-event.js';

const identity = {
  sourceId: 'shop',
  runId: 'bf-0123456789ab',
  database: 'shop',
  table: 'orders',
  key: '42',
  after: { id: 42, status: 'paid' },
};

describe('read events', () => {
  it('pins the id derivation (changing it defeats dedupe of re-published chunks)', () => {
    expect(readEventId(identity)).toBe('evt_48a1871fa42439c0a638fe5d2c18f6ce');
  });

  it('gives a row read again with other values, in another run or of another table a new id', () => {
    const id = readEventId(identity);
    expect(readEventId({ ...identity, after: { id: 42, status: 'shipped' } })).not.toBe(id);
    expect(readEventId({ ...identity, runId: 'bf-other' })).not.toBe(id);
    expect(readEventId({ ...identity, table: 'orders2' })).not.toBe(id);
    expect(readEventId({ ...identity, database: 'sho', table: 'porders' })).not.toBe(id);
  });

  it('is a CloudEvent of operation read, keyed and typed like the row’s live changes', () => {
    const ev = readEvent({
      sourceId: 'shop',
      runId: 'bf-0123456789ab',
      shape: {
        database: 'shop',
        table: 'orders',
        primaryKey: ['id'],
        columns: [
          { name: 'id', type: 3, json: false },
          { name: 'status', type: 253, json: false },
        ],
      },
      after: { id: 42, status: 'paid' },
      key: '42',
      readAtMs: Date.parse('2026-01-02T03:04:05.678Z'),
      position: '0-1-99',
    });
    expect(ev).toEqual({
      specversion: '1.0',
      id: readEventId(identity),
      source: '/sluice/mysql/shop',
      type: 'mysql.shop.orders.read',
      subject: '42',
      time: '2026-01-02T03:04:05.678Z',
      datacontenttype: 'application/json',
      data: {
        op: 'read',
        database: 'shop',
        table: 'orders',
        before: null,
        after: { id: 42, status: 'paid' },
        changed: ['id', 'status'],
        primaryKey: ['id'],
      },
      sluiceposition: '0-1-99',
      sluicebackfill: 'bf-0123456789ab',
    });
  });
});
