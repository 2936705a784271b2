import { describe, expect, it } from 'vitest';
import {
  checkpointsBucket,
  deliveriesStream,
  deliveriesStreamSubjects,
  endpointConsumer,
  retrySchedulerConsumer,
  deliveryEndpointFilter,
  deliverySubject,
  escapeToken,
  eventPartitionFilter,
  eventsStream,
  eventsStreamSubjects,
  eventSubject,
  isValidPrefix,
  oversizeBucket,
  partitionFromEventSubject,
  routerConsumer,
  typeFromEventSubject,
  unescapeToken,
} from './names.js';

const def = { prefix: 'sluice' };
const custom = { prefix: 'shop-eu_2' };

// What NATS accepts in one token of a published subject (nats-server server/sublist.go): non-empty,
// no whitespace, no '.', and not the wildcards. sluice escapes '*' and '>' anywhere in a token.
const LEGAL_TOKEN = /^[^\s.*>]+$/u;

describe('names with the default prefix', () => {
  it('builds the documented stream, subject, consumer and bucket names', () => {
    expect(eventsStream(def)).toBe('SLUICE_EVENTS');
    expect(deliveriesStream(def)).toBe('SLUICE_DELIVERIES');
    expect(eventsStreamSubjects(def)).toEqual(['sluice.events.>']);
    expect(deliveriesStreamSubjects(def)).toEqual(['sluice.deliveries.>']);
    expect(eventSubject(def, 3, 'mysql.shop.orders.insert')).toBe('sluice.events.3.mysql.shop.orders.insert');
    expect(eventPartitionFilter(def, 3)).toBe('sluice.events.3.>');
    expect(deliverySubject(def, 'billing', 7)).toBe('sluice.deliveries.billing.7');
    expect(deliveryEndpointFilter(def, 'billing')).toBe('sluice.deliveries.billing.>');
    expect(routerConsumer(12)).toBe('router-p12');
    expect(endpointConsumer('billing')).toBe('deliver-billing');
    expect(retrySchedulerConsumer()).toBe('retry-scheduler');
    expect(checkpointsBucket(def)).toBe('sluice_checkpoints');
  });
});

describe('names with a custom prefix', () => {
  it('derives every name from the prefix', () => {
    expect(eventsStream(custom)).toBe('SHOP_EU_2_EVENTS');
    expect(deliveriesStream(custom)).toBe('SHOP_EU_2_DELIVERIES');
    expect(eventsStreamSubjects(custom)).toEqual(['shop-eu_2.events.>']);
    expect(deliveriesStreamSubjects(custom)).toEqual(['shop-eu_2.deliveries.>']);
    expect(eventSubject(custom, 0, 'order.created')).toBe('shop-eu_2.events.0.order.created');
    expect(eventPartitionFilter(custom, 15)).toBe('shop-eu_2.events.15.>');
    expect(deliverySubject(custom, 'crm', 0)).toBe('shop-eu_2.deliveries.crm.0');
    expect(deliveryEndpointFilter(custom, 'crm')).toBe('shop-eu_2.deliveries.crm.>');
    expect(checkpointsBucket(custom)).toBe('shop_eu_2_checkpoints');
    expect(oversizeBucket(custom)).toBe('shop_eu_2_oversize');
  });

  it('keeps stream and bucket names within what JetStream accepts', () => {
    for (const ns of [def, custom, { prefix: 'a' }, { prefix: `x${'-'.repeat(31)}` }]) {
      expect(isValidPrefix(ns.prefix)).toBe(true);
      for (const name of [eventsStream(ns), deliveriesStream(ns)]) expect(name).toMatch(/^[A-Z0-9_]+$/);
      expect(checkpointsBucket(ns)).toMatch(/^[a-z0-9_]+$/);
      expect(oversizeBucket(ns)).toMatch(/^[a-z0-9_]+$/); // object store names allow [-\w]
    }
  });
});

describe('isValidPrefix', () => {
  it.each(['sluice', 'a', 'shop-eu', 'shop_eu', 'p2', 'a'.repeat(32)])('accepts %j', (prefix) => {
    expect(isValidPrefix(prefix)).toBe(true);
  });
  it.each(['', 'Sluice', '2shop', '-a', 'a.b', 'a b', 'a*', 'a>', 'a'.repeat(33), 'é'])(
    'rejects %j',
    (prefix) => {
      expect(isValidPrefix(prefix)).toBe(false);
    },
  );
});

const oddTokens = [
  'orders',
  'order.items',
  'order items',
  'tab\there',
  'new\nline',
  '*',
  '>',
  'a*b',
  'a>b',
  '%',
  '%25',
  '%%',
  '100%',
  '',
  ' ',
  '.',
  '..',
  'ünïcödé',
  '表',
  'emoji🐬',
  'nbsp\u00a0x',
  'line\u2028sep',
  'ideographic\u3000space',
  'bom\ufeff',
  'del\x7f',
  'nul\x00',
  'percent-ish %41',
];

describe('escapeToken / unescapeToken', () => {
  it.each(oddTokens)('round-trips %j through a legal token', (token) => {
    const escaped = escapeToken(token);
    expect(escaped).toMatch(LEGAL_TOKEN);
    expect(unescapeToken(escaped)).toBe(token);
  });

  it('leaves ordinary identifiers unchanged', () => {
    for (const t of ['orders', 'order_items', 'Order-Items', 'T1', 'ünï']) expect(escapeToken(t)).toBe(t);
  });

  it('percent-encodes as in URLs, per UTF-8 byte', () => {
    expect(escapeToken('a.b')).toBe('a%2Eb');
    expect(escapeToken('a b')).toBe('a%20b');
    expect(escapeToken('*')).toBe('%2A');
    expect(escapeToken('>')).toBe('%3E');
    expect(escapeToken('%')).toBe('%25');
    expect(escapeToken('')).toBe('%');
    expect(escapeToken('\u3000')).toBe('%E3%80%80');
  });

  it('is injective over the odd tokens', () => {
    const escaped = oddTokens.map(escapeToken);
    expect(new Set(escaped).size).toBe(oddTokens.length);
  });
});

describe('event subjects', () => {
  const types = [
    'mysql.shop.orders.insert',
    'order.created',
    'single',
    'mysql.my db.order items.update',
    'mysql.shop.100%.delete',
    'mysql.shop.*.insert',
    'mysql.shop.>.insert',
    'mysql.shop..insert',
    'mysql.表.ünï.insert',
    '.leading',
    'trailing.',
  ];

  it.each(types)('reads %j back from its subject', (type) => {
    for (const ns of [def, custom]) {
      const subject = eventSubject(ns, 9, type);
      for (const token of subject.split('.')) expect(token).toMatch(LEGAL_TOKEN);
      expect(typeFromEventSubject(ns, subject)).toBe(type);
      expect(partitionFromEventSubject(ns, subject)).toBe(9);
    }
  });

  it('lets a partition filter match only its own partition', () => {
    const filter = eventPartitionFilter(def, 1).slice(0, -1);
    expect(eventSubject(def, 1, 'a.b').startsWith(filter)).toBe(true);
    expect(eventSubject(def, 11, 'a.b').startsWith(filter)).toBe(false);
  });

  it('does not read subjects of another namespace or kind', () => {
    const subject = eventSubject(def, 2, 'order.created');
    expect(typeFromEventSubject(custom, subject)).toBeUndefined();
    expect(partitionFromEventSubject(custom, subject)).toBeUndefined();
    expect(typeFromEventSubject(def, deliverySubject(def, 'billing', 2))).toBeUndefined();
    expect(partitionFromEventSubject(def, deliverySubject(def, 'billing', 2))).toBeUndefined();
    expect(typeFromEventSubject(def, 'sluice.events.2')).toBeUndefined();
    expect(partitionFromEventSubject(def, 'sluice.events.x.order')).toBeUndefined();
  });

  it('escapes endpoint ids in delivery subjects', () => {
    expect(deliverySubject(def, 'a.b', 1)).toBe('sluice.deliveries.a%2Eb.1');
    expect(deliveryEndpointFilter(def, 'a.b')).toBe('sluice.deliveries.a%2Eb.>');
  });
});
