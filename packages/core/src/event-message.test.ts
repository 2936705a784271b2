import { headers as natsHeaders } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { cdcEvent, decodeEvent } from './envelope.js';
import { eventAddress, eventMessage, readEventHeaders } from './event-message.js';
import { partitionFromEventSubject, typeFromEventSubject } from './names.js';
import { partitionOf } from './partition.js';

const space = { prefix: 'tst', partitions: 8 };
const event = cdcEvent({
  id: 'evt_0123456789abcdef0123456789abcdef',
  sourceId: 'shop',
  change: {
    op: 'insert',
    database: 'shop',
    table: 'orders',
    before: null,
    after: { id: 7 },
    changed: ['id'],
    primaryKey: ['id'],
  },
  commitTimeMs: 0,
  position: 'bin.000001:4',
  transaction: '0-1-1',
  rowIndex: 0,
  key: '7',
});

describe('event message', () => {
  it('is addressed by the partition of its key and its type, with the event id as Msg-Id', () => {
    const m = eventMessage(space, event, '7', 'shop');
    expect(m.subject).toBe(`tst.events.${partitionOf('7', 8)}.mysql.shop.orders.insert`);
    expect(partitionFromEventSubject(space, m.subject)).toBe(partitionOf('7', 8));
    expect(typeFromEventSubject(space, m.subject)).toBe(event.type);
    expect(m.msgId).toBe(event.id);
    expect(m.headers).toEqual({ 'Sluice-Source': 'shop' });
    expect(decodeEvent(m.data)).toEqual(event);
  });

  it('leaves the source header out for a null source', () => {
    expect(eventAddress(space, event, '7', null).headers).toEqual({});
  });

  it('reads back the id and source its headers were written with', () => {
    const a = eventAddress(space, event, '7', 'shop');
    const h = natsHeaders();
    h.set('Nats-Msg-Id', a.msgId);
    for (const [k, v] of Object.entries(a.headers)) h.set(k, v);
    expect(readEventHeaders(h)).toEqual({ id: event.id, sourceId: 'shop' });

    const bare = natsHeaders();
    bare.set('Nats-Msg-Id', a.msgId);
    expect(readEventHeaders(bare)).toEqual({ id: event.id, sourceId: undefined });
    expect(readEventHeaders(undefined)).toEqual({ id: undefined, sourceId: undefined });
  });
});
