import { describe, expect, test } from 'vitest';
import { describeEvent } from './demo-receiver.js';

const body = (event: unknown): Buffer => Buffer.from(JSON.stringify(event));

describe('the demo receiver prints what an event carries', () => {
  test('a row change: the row after the change, or before it for a delete', () => {
    const insert = {
      id: 'evt_1',
      type: 'mysql.shop.orders.insert',
      subject: '1',
      data: { before: null, after: { id: '1' } },
    };
    expect(describeEvent(body(insert))).toBe('✔ verified mysql.shop.orders.insert 1 evt_1\n    {"id":"1"}');
    const del = {
      id: 'evt_2',
      type: 'mysql.shop.orders.delete',
      subject: '1',
      data: { before: { id: '1' }, after: null },
    };
    expect(describeEvent(body(del))).toContain('{"id":"1"}');
  });

  test('an ingested event: its data, not undefined', () => {
    const ingested = {
      id: 'evt_3',
      type: 'shop.order.created',
      source: 'urn:shop',
      data: { total: '42.50' },
    };
    const text = describeEvent(body(ingested));
    expect(text).toBe('✔ verified shop.order.created evt_3\n    {"total":"42.50"}');
    expect(text).not.toContain('undefined');
    expect(describeEvent(body({ id: 'evt_4', type: 't', data_base64: 'AAE=' }))).toContain('"AAE="');
    expect(describeEvent(body({ id: 'evt_5', type: 't' }))).toContain('null');
  });

  test('a body that is not JSON', () => {
    expect(describeEvent(Buffer.from('nope'))).toBe('✔ verified a non-JSON body of 4 bytes');
  });
});
