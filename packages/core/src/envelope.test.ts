import { describe, expect, it } from 'vitest';
import {
  cdcEvent,
  cdcEventType,
  decodeEvent,
  encodeEvent,
  type CdcEventInput,
  type RowChange,
} from './envelope.js';

const change: RowChange = {
  op: 'update',
  database: 'shop',
  table: 'orders',
  before: { id: '1001', total: '19.90', status: 'new' },
  after: { id: '1001', total: '19.90', status: 'paid' },
  changed: ['status'],
  primaryKey: ['id'],
};

const input: CdcEventInput = {
  id: 'evt_ba464c9a3c27d279e871f7f107f91c0e',
  sourceId: 'shop',
  change,
  commitTimeMs: Date.UTC(2025, 2, 14, 9, 26, 53, 589),
  position: 'mysql-bin.000003:4711',
  transaction: '0-1-42',
  rowIndex: 2,
  key: '1001',
};

describe('cdcEventType', () => {
  it('is mysql.<database>.<table>.<op>', () => {
    expect(cdcEventType(change)).toBe('mysql.shop.orders.update');
    expect(cdcEventType({ database: 'crm', table: 'customers', op: 'insert' })).toBe(
      'mysql.crm.customers.insert',
    );
    expect(cdcEventType({ database: 'crm', table: 'customers', op: 'delete' })).toBe(
      'mysql.crm.customers.delete',
    );
  });
});

describe('cdcEvent', () => {
  it('builds a CloudEvents 1.0 structured-mode envelope with sluice extensions', () => {
    expect(cdcEvent(input)).toEqual({
      specversion: '1.0',
      id: 'evt_ba464c9a3c27d279e871f7f107f91c0e',
      source: '/sluice/mysql/shop',
      type: 'mysql.shop.orders.update',
      subject: '1001',
      time: '2025-03-14T09:26:53.589Z',
      datacontenttype: 'application/json',
      data: change,
      sluiceposition: 'mysql-bin.000003:4711',
      sluicetxid: '0-1-42',
      sluicetxindex: 2,
    });
  });

  it('uses extension attribute names CloudEvents allows (lowercase a–z0–9, ≤ 20 chars)', () => {
    const standard = new Set([
      'specversion',
      'id',
      'source',
      'type',
      'subject',
      'time',
      'datacontenttype',
      'data',
    ]);
    const last = cdcEvent({ ...input, transactionCount: 3 });
    for (const name of Object.keys(last).filter((k) => !standard.has(k)))
      expect(name).toMatch(/^[a-z0-9]{1,20}$/);
  });

  it('marks only the last event of a transaction, with the transaction event count', () => {
    expect(cdcEvent(input)).not.toHaveProperty('sluicetxlast');
    expect(cdcEvent(input)).not.toHaveProperty('sluicetxcount');
    const last = cdcEvent({ ...input, transactionCount: 3 });
    expect(last).toMatchObject({ sluicetxindex: 2, sluicetxlast: true, sluicetxcount: 3 });
    // The id is the row's, whether or not it is the last: replays yield the same id.
    expect(last.id).toBe(cdcEvent(input).id);
  });

  it('carries null before for inserts and null after for deletes', () => {
    const insert = cdcEvent({
      ...input,
      change: { ...change, op: 'insert', before: null, changed: ['id', 'total', 'status'] },
    });
    expect(insert.type).toBe('mysql.shop.orders.insert');
    expect(insert.data.before).toBeNull();
    expect(insert.data.after).toEqual(change.after);
    const del = cdcEvent({ ...input, change: { ...change, op: 'delete', after: null } });
    expect(del.type).toBe('mysql.shop.orders.delete');
    expect(del.data.after).toBeNull();
    expect(JSON.parse(new TextDecoder().decode(encodeEvent(del))).data.after).toBeNull();
  });

  it('writes the commit time as RFC 3339 UTC', () => {
    expect(cdcEvent({ ...input, commitTimeMs: 0 }).time).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('encodeEvent / decodeEvent', () => {
  it('round-trips an event as UTF-8 JSON', () => {
    const event = cdcEvent({
      ...input,
      change: { ...change, after: { ...change.after, note: 'größe 表 🐬' } },
    });
    const bytes = encodeEvent(event);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(decodeEvent(bytes)).toEqual(event);
    expect(new TextDecoder().decode(bytes)).toBe(JSON.stringify(event));
  });

  it('decodes a view into a larger buffer (pooled Buffers, NATS message data)', () => {
    const bytes = encodeEvent(cdcEvent(input));
    const pool = new Uint8Array(bytes.length + 20);
    pool.set(bytes, 7);
    pool.fill(0x7b, 0, 7);
    pool.fill(0x7d, 7 + bytes.length);
    expect(decodeEvent(pool.subarray(7, 7 + bytes.length))).toEqual(cdcEvent(input));
  });

  it('throws SyntaxError on malformed bytes', () => {
    expect(() => decodeEvent(new TextEncoder().encode('{"specversion":'))).toThrow(SyntaxError);
  });
});
