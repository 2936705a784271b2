import { describe, expect, it } from 'vitest';
import type { EndpointConfig, SubscriptionConfig } from '@sluice/core';
import { RoutingTable } from './routing-table.js';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

function endpoint(id: string, enabled = true): EndpointConfig {
  return {
    id,
    url: `http://127.0.0.1:9/${id}`,
    secret: SECRET,
    timeoutMs: 1_000,
    connectTimeoutMs: 1_000,
    enabled,
    maxInFlight: 64,
    signing: 'v1',
  };
}

function sub(id: string, endpointId: string, ...types: string[]): SubscriptionConfig {
  return { id, endpoint: endpointId, types };
}

describe('RoutingTable.match', () => {
  it('matches exact types and the * (one token) and > (one or more tokens) wildcards', () => {
    const table = new RoutingTable(
      [
        sub('exact', 'a', 'mysql.shop.orders.insert'),
        sub('star', 'a', 'mysql.shop.*.insert'),
        sub('tail', 'a', 'mysql.>'),
        sub('other', 'a', 'billing.>'),
      ],
      [endpoint('a')],
    );
    const ids = (type: string): string[] => table.match(type).map((t) => t.subscriptionId);
    expect(ids('mysql.shop.orders.insert')).toEqual(['exact', 'star', 'tail']);
    expect(ids('mysql.shop.customers.insert')).toEqual(['star', 'tail']);
    expect(ids('mysql.shop.orders.update')).toEqual(['tail']);
    // `*` is exactly one token, `>` at least one.
    expect(ids('mysql.shop.orders.items.insert')).toEqual(['tail']);
    expect(ids('mysql')).toEqual([]);
    expect(ids('billing.invoice.paid')).toEqual(['other']);
    expect(ids('ingest.thing')).toEqual([]);
  });

  it('returns one target per matching subscription, in configuration order, with its endpoint', () => {
    const table = new RoutingTable(
      [
        sub('s1', 'hooks', 'orders.created'),
        sub('s2', 'audit', '>'),
        // Two patterns of one subscription matching the same type still make one delivery.
        sub('s3', 'hooks', 'orders.*', 'orders.created'),
        sub('s4', 'audit', 'customers.*'),
      ],
      [endpoint('hooks'), endpoint('audit')],
    );
    expect(table.match('orders.created')).toEqual([
      { subscriptionId: 's1', endpointId: 'hooks' },
      { subscriptionId: 's2', endpointId: 'audit' },
      { subscriptionId: 's3', endpointId: 'hooks' },
    ]);
  });

  it('leaves out subscriptions of disabled or unknown endpoints', () => {
    const table = new RoutingTable(
      [sub('on', 'live', '>'), sub('off', 'paused', '>'), sub('dangling', 'nowhere', '>')],
      [endpoint('live'), endpoint('paused', false)],
    );
    expect(table.match('orders.created')).toEqual([{ subscriptionId: 'on', endpointId: 'live' }]);
    expect(new RoutingTable([sub('off', 'paused', '>')], [endpoint('paused', false)]).match('x')).toEqual([]);
  });

  it('returns frozen results that callers cannot change for the next event', () => {
    const table = new RoutingTable([sub('s', 'a', '>')], [endpoint('a')]);
    const first = table.match('t.x');
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(new RoutingTable([], []).match('t.x'))).toBe(true);
  });

  it('caches per type and clears the cache once it holds maxCached types', () => {
    const table = new RoutingTable([sub('s', 'a', 'orders.*')], [endpoint('a')], 3);
    const a = table.match('orders.a');
    expect(table.match('orders.a')).toBe(a); // served from the cache
    table.match('orders.b');
    table.match('orders.c');
    expect(table.match('orders.a')).toBe(a); // three types: still within the bound
    table.match('orders.d'); // a fourth type: the cache is cleared before it is stored
    const again = table.match('orders.a');
    expect(again).not.toBe(a);
    expect(again).toEqual(a);
    // Unbounded distinct types (a producer inventing them) never break matching.
    for (let i = 0; i < 1_000; i++) expect(table.match(`orders.t${i}`)).toHaveLength(1);
    expect(table.match('customers.t1')).toEqual([]);
  });
});
