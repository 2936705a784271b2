import { describe, expect, it } from 'vitest';
import { tableFilter, zongjiExcludeSchema } from './schema-filter.js';

describe('tableFilter', () => {
  it('captures every user table by default, never the system schemas', () => {
    const f = tableFilter([], []);
    expect(f('shop', 'orders')).toBe(true);
    for (const db of ['mysql', 'sys', 'information_schema', 'performance_schema'])
      expect(f(db, 'x')).toBe(false);
  });

  it('includes by schema, by table and with wildcards', () => {
    const f = tableFilter(['shop', 'crm.cust*', 'logs_*.events'], []);
    expect(f('shop', 'anything')).toBe(true);
    expect(f('crm', 'customers')).toBe(true);
    expect(f('crm', 'leads')).toBe(false);
    expect(f('logs_2024', 'events')).toBe(true);
    expect(f('logs_2024', 'other')).toBe(false);
    expect(f('shopping', 'x')).toBe(false);
  });

  it('lets exclude win and treats regex characters literally', () => {
    const f = tableFilter(['*'], ['shop.tmp_*', 'a+b']);
    expect(f('shop', 'tmp_1')).toBe(false);
    expect(f('shop', 'orders')).toBe(true);
    expect(f('a+b', 'x')).toBe(false);
    expect(f('aab', 'x')).toBe(true);
    expect(tableFilter(['mysql'], [])('mysql', 'user')).toBe(false);
  });

  it('hands zongji only the system schemas', () => {
    expect(Object.keys(zongjiExcludeSchema()).sort()).toEqual([
      'information_schema',
      'mysql',
      'performance_schema',
      'sys',
    ]);
  });
});
