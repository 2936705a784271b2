import { describe, expect, it } from 'vitest';
import { compileTypePattern, isValidTypePattern } from './type-pattern.js';

describe('isValidTypePattern', () => {
  it.each([
    '>',
    '*',
    'mysql.>',
    'mysql.shop.orders.insert',
    'mysql.*.orders.*',
    '*.*',
    'order.created',
    'a-b_c.D1',
  ])('accepts %j', (pattern) => {
    expect(isValidTypePattern(pattern)).toBe(true);
  });

  it.each(['', '.', 'a.', '.a', 'a..b', 'a.>.b', '>.a', '>.>', 'a*', '*a', 'a.b*', 'a>', '>a', 'a.>>', '**'])(
    'rejects %j',
    (pattern) => {
      expect(isValidTypePattern(pattern)).toBe(false);
    },
  );
});

describe('compileTypePattern', () => {
  const cases: [pattern: string, type: string, matches: boolean][] = [
    ['mysql.shop.orders.insert', 'mysql.shop.orders.insert', true],
    ['mysql.shop.orders.insert', 'mysql.shop.orders.update', false],
    ['mysql.shop.orders.insert', 'mysql.shop.orders', false],
    ['mysql.shop.orders.insert', 'mysql.shop.orders.insert.x', false],
    ['mysql.shop.*.insert', 'mysql.shop.orders.insert', true],
    ['mysql.shop.*.insert', 'mysql.shop.customers.insert', true],
    ['mysql.shop.*.insert', 'mysql.shop.orders.delete', false],
    ['mysql.shop.*.insert', 'mysql.shop.insert', false],
    ['mysql.shop.*.insert', 'mysql.shop.a.b.insert', false],
    ['*', 'order', true],
    ['*', 'order.created', false],
    ['*.*', 'order.created', true],
    ['>', 'order', true],
    ['>', 'mysql.shop.orders.insert', true],
    ['mysql.>', 'mysql.shop.orders.insert', true],
    ['mysql.>', 'mysql.x', true],
    // '>' matches one or more tokens, never zero (as in NATS).
    ['mysql.>', 'mysql', false],
    ['mysql.>', 'mysqlx.shop', false],
    ['mysql.*.>', 'mysql.shop.orders.insert', true],
    ['mysql.*.>', 'mysql.shop', false],
    ['order.created', 'order.created', true],
    ['order.created', 'Order.created', false],
  ];

  it.each(cases)('%j matches %j: %s', (pattern, type, expected) => {
    expect(isValidTypePattern(pattern)).toBe(true);
    expect(compileTypePattern(pattern).matches(type)).toBe(expected);
  });

  it('keeps the pattern it was compiled from', () => {
    expect(compileTypePattern('mysql.>').pattern).toBe('mysql.>');
  });

  it('can be reused across calls', () => {
    const m = compileTypePattern('a.*.c');
    expect([m.matches('a.b.c'), m.matches('a.b.d'), m.matches('a.x.c')]).toEqual([true, false, true]);
  });
});
