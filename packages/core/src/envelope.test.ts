import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cdcEvent,
  cdcEventType,
  ddlEventType,
  decodeEvent,
  encodeEvent,
  type CdcEventInput,
  type RowChange,
} from './envelope.js';
import { eventSubject, typeFromEventSubject, unescapeToken } from './names.js';
import { compileTypePattern, isValidTypePattern } from './type-pattern.js';

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

  it('gives a.b + c and a + b.c different types and subjects', () => {
    const left = cdcEventType({ database: 'a.b', table: 'c', op: 'insert' });
    const right = cdcEventType({ database: 'a', table: 'b.c', op: 'insert' });
    expect(left).toBe('mysql.a%2Eb.c.insert');
    expect(right).toBe('mysql.a.b%2Ec.insert');
    const ns = { prefix: 'sluice' };
    expect(eventSubject(ns, 0, left)).not.toBe(eventSubject(ns, 0, right));
    expect(typeFromEventSubject(ns, eventSubject(ns, 0, left))).toBe(left);
    expect(ddlEventType('a.b')).not.toBe(ddlEventType('a'));
    expect(ddlEventType('a.b')).toBe('mysql.a%2Eb.ddl');
  });

  it('escapes the characters a subject token cannot hold, and the escape character', () => {
    const type = (table: string) => cdcEventType({ database: 'shop', table, op: 'update' });
    expect(type('order items')).toBe('mysql.shop.order%20items.update');
    expect(type('*')).toBe('mysql.shop.%2A.update');
    expect(type('>')).toBe('mysql.shop.%3E.update');
    expect(type('100%')).toBe('mysql.shop.100%25.update');
    expect(type('a%2Eb')).toBe('mysql.shop.a%252Eb.update'); // not the type of a table named `a.b`
    expect(type('ünï_1-x')).toBe('mysql.shop.ünï_1-x.update');
  });

  it('maps every (database, table) pair to its own type, read back token by token', () => {
    const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(name, name, (database, table) => {
        const tokens = cdcEventType({ database, table, op: 'delete' }).split('.');
        expect(tokens).toHaveLength(4);
        expect(tokens[1]).not.toMatch(/[\s*>]/);
        expect(tokens[2]).not.toMatch(/[\s*>]/);
        expect([unescapeToken(tokens[1]!), unescapeToken(tokens[2]!)]).toEqual([database, table]);
      }),
    );
  });

  it('is matched by a pattern that spells the escaped name', () => {
    const type = cdcEventType({ database: 'shop', table: 'order items', op: 'insert' });
    for (const pattern of ['mysql.shop.order%20items.*', 'mysql.shop.*.insert', 'mysql.shop.>']) {
      expect(isValidTypePattern(pattern)).toBe(true);
      expect(compileTypePattern(pattern).matches(type)).toBe(true);
    }
    const dotted = cdcEventType({ database: 'a.b', table: 'c', op: 'insert' });
    expect(compileTypePattern('mysql.a.b.*').matches(dotted)).toBe(false);
    expect(compileTypePattern('mysql.a.*.insert').matches(dotted)).toBe(false);
    expect(compileTypePattern('mysql.a%2Eb.c.*').matches(dotted)).toBe(true);
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
