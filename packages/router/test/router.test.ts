import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckWindowPublisher,
  DeliveryHeaders,
  buildConfig,
  createLogger,
  deliveriesStream,
  deliveryId,
  deliverySubject,
  eventSubject,
  eventsStream,
  provisionStreams,
  routerConsumer,
  type Config,
} from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { Router } from '../src/index.js';
import { startNats, uniqueName, waitFor, type TestNats } from '@sluice/test-harness';

const SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const PARTITIONS = 2;

function testConfig(nats: TestNats): Config {
  return buildConfig(
    JSON.stringify({
      nats: { url: nats.url, prefix: uniqueName('rt'), partitions: PARTITIONS },
      router: { ackWaitMs: 1_000, maxAckPending: 64, publishWindow: 16 },
      endpoints: [
        { id: 'billing', url: 'http://127.0.0.1:9/billing', secret: SECRET, allowNetworks: ['127.0.0.1/32'] },
        { id: 'audit', url: 'http://127.0.0.1:9/audit', secret: SECRET, allowNetworks: ['127.0.0.1/32'] },
        {
          id: 'paused',
          url: 'http://127.0.0.1:9/paused',
          secret: SECRET,
          enabled: false,
          allowNetworks: ['127.0.0.1/32'],
        },
      ],
      subscriptions: [
        { id: 'orders-billing', endpoint: 'billing', types: ['mysql.shop.orders.*'] },
        { id: 'all-audit', endpoint: 'audit', types: ['mysql.>'] },
        { id: 'customers-billing', endpoint: 'billing', types: ['mysql.shop.customers.*'] },
        { id: 'orders-paused', endpoint: 'paused', types: ['mysql.>'] },
      ],
    }),
    {},
  );
}

interface Setup {
  config: Config;
  nc: NatsConnection;
  jsm: JetStreamManager;
  publisher: AckWindowPublisher;
}

async function setup(nats: TestNats): Promise<Setup> {
  const config = testConfig(nats);
  const nc = await nats.connect();
  const jsm = await jetstreamManager(nc);
  await provisionStreams(jsm, config.nats);
  return { config, nc, jsm, publisher: new AckWindowPublisher(nc, { window: 64 }) };
}

function newRouter(s: Setup): Router {
  const { config, nc, jsm } = s;
  return new Router({
    nc,
    jsm,
    nats: config.nats,
    router: config.router,
    subscriptions: config.subscriptions,
    endpoints: config.endpoints,
    logger: createLogger({ level: 'silent', pretty: false }),
  });
}

interface TestEvent {
  id: string;
  type: string;
  partition: number;
  body: Uint8Array;
}

function testEvent(type: string, partition: number): TestEvent {
  const id = uniqueName('evt');
  // Odd spacing, key order and non-ASCII: any re-encoding on the way would change these bytes.
  const body = Buffer.from(
    `{"id":"${id}", "type":"${type}","data":{"name":"Zoë 🚀","total":"19.90"}  }`,
    'utf8',
  );
  return { id, type, partition, body };
}

async function publishEvents(s: Setup, events: readonly TestEvent[]): Promise<void> {
  await Promise.all(
    events.map((e) => s.publisher.publish(eventSubject(s.config.nats, e.partition, e.type), e.body, e.id)),
  );
}

interface StoredDelivery {
  subject: string;
  msgId: string | undefined;
  headers: Record<string, string | undefined>;
  body: Buffer;
}

async function deliveries(s: Setup): Promise<StoredDelivery[]> {
  const stream = deliveriesStream(s.config.nats);
  const { state } = await s.jsm.streams.info(stream);
  const out: StoredDelivery[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await s.jsm.streams.getMessage(stream, { seq });
    if (!m) continue;
    out.push({
      subject: m.subject,
      msgId: m.header.get('Nats-Msg-Id'),
      headers: {
        eventId: m.header.get(DeliveryHeaders.eventId),
        subscription: m.header.get(DeliveryHeaders.subscription),
        endpoint: m.header.get(DeliveryHeaders.endpoint),
      },
      body: Buffer.from(m.data),
    });
  }
  return out;
}

async function deliveryCount(s: Setup): Promise<number> {
  return (await s.jsm.streams.info(deliveriesStream(s.config.nats))).state.messages;
}

/** True when every partition consumer has handed out and had acknowledged every event. */
async function routerIdle(s: Setup): Promise<boolean> {
  for (let p = 0; p < PARTITIONS; p++) {
    const info = await s.jsm.consumers.info(eventsStream(s.config.nats), routerConsumer(p));
    if (info.num_pending !== 0 || info.num_ack_pending !== 0) return false;
  }
  return true;
}

/** What the router must publish for `events`: one delivery per matching, enabled subscription. */
function expectedDeliveries(s: Setup, events: readonly TestEvent[]): StoredDelivery[] {
  const subscriptionsOf = (type: string): [string, string][] =>
    type.startsWith('mysql.shop.orders.')
      ? [
          ['orders-billing', 'billing'],
          ['all-audit', 'audit'],
        ]
      : type.startsWith('mysql.shop.customers.')
        ? [
            ['all-audit', 'audit'],
            ['customers-billing', 'billing'],
          ]
        : type.startsWith('mysql.')
          ? [['all-audit', 'audit']]
          : [];
  return events.flatMap((e) =>
    subscriptionsOf(e.type).map(([sub, endpoint]) => ({
      subject: deliverySubject(s.config.nats, endpoint, e.partition),
      msgId: deliveryId(e.id, sub),
      headers: { eventId: e.id, subscription: sub, endpoint },
      body: Buffer.from(e.body),
    })),
  );
}

const byMsgId = (a: StoredDelivery, b: StoredDelivery): number =>
  String(a.msgId).localeCompare(String(b.msgId));

describe('Router', () => {
  it('publishes exactly one delivery per matching subscription, with its subject, Msg-Id, headers and the event bytes', async () => {
    await using nats = await startNats();
    const s = await setup(nats);
    const events = [
      testEvent('mysql.shop.orders.insert', 0),
      testEvent('mysql.shop.orders.update', 1),
      testEvent('mysql.shop.customers.insert', 1),
      testEvent('mysql.shop.items.delete', 0),
    ];
    await publishEvents(s, events);
    const router = newRouter(s);
    await router.start();
    try {
      const want = expectedDeliveries(s, events);
      expect(want).toHaveLength(7);
      await waitFor(async () => (await routerIdle(s)) && (await deliveryCount(s)) >= want.length, {
        message: 'events routed',
      });
      const got = await deliveries(s);
      expect(got.sort(byMsgId)).toEqual(want.sort(byMsgId));
      // The disabled endpoint's subscription matched every event but got nothing.
      expect(got.filter((d) => d.headers.endpoint === 'paused')).toEqual([]);
      expect(router.stats).toMatchObject({
        eventsRouted: 4,
        deliveriesPublished: 7,
        eventsUnmatched: 0,
        naks: 0,
      });
    } finally {
      await router.stop();
    }
  });

  it('acknowledges events that match no subscription and publishes nothing for them', async () => {
    await using nats = await startNats();
    const s = await setup(nats);
    const events = [
      testEvent('ingest.signup', 0),
      testEvent('ingest.signup', 1),
      testEvent('billing.paid', 1),
    ];
    await publishEvents(s, events);
    const router = newRouter(s);
    await router.start();
    try {
      await waitFor(() => routerIdle(s), { message: 'unmatched events acknowledged' });
      expect(router.stats).toMatchObject({ eventsUnmatched: 3, eventsRouted: 0, deliveriesPublished: 0 });
      expect(await deliveryCount(s)).toBe(0);
      // The one matching event behind them still goes through.
      const late = testEvent('mysql.shop.items.insert', 1);
      await publishEvents(s, [late]);
      await waitFor(async () => (await routerIdle(s)) && (await deliveryCount(s)) === 1, {
        message: 'late event routed',
      });
      expect(await deliveries(s)).toEqual(expectedDeliveries(s, [late]));
    } finally {
      await router.stop();
    }
  });

  it('collapses the repeats when a restarted router routes the same events again', async () => {
    await using nats = await startNats();
    const s = await setup(nats);
    const events = [testEvent('mysql.shop.orders.insert', 0), testEvent('mysql.shop.customers.update', 1)];
    await publishEvents(s, events);
    const first = newRouter(s);
    await first.start();
    await waitFor(async () => (await routerIdle(s)) && (await deliveryCount(s)) === 4, {
      message: 'first routing',
    });
    await first.stop();

    // A router that crashed after publishing the deliveries but before acking the events hands them
    // to its successor again; deleting the consumers replays every event the same way.
    for (let p = 0; p < PARTITIONS; p++)
      await s.jsm.consumers.delete(eventsStream(s.config.nats), routerConsumer(p));
    const second = newRouter(s);
    await second.start();
    try {
      await waitFor(async () => (await routerIdle(s)) && second.stats.eventsRouted === 2, {
        message: 'second routing',
      });
      expect(second.stats.deliveriesPublished).toBe(4); // it did publish them all again…
      const got = await deliveries(s); // …and the stream kept one of each
      expect(got.sort(byMsgId)).toEqual(expectedDeliveries(s, events).sort(byMsgId));
    } finally {
      await second.stop();
    }
  });

  it('collapses an event captured twice under the same id', async () => {
    await using nats = await startNats();
    const s = await setup(nats);
    const e = testEvent('mysql.shop.orders.insert', 0);
    const router = newRouter(s);
    await router.start();
    try {
      await publishEvents(s, [e]);
      await waitFor(async () => (await routerIdle(s)) && (await deliveryCount(s)) === 2, {
        message: 'first copy routed',
      });
      // Re-capture after a crash publishes the same id again: the events stream collapses it, and
      // the router sees one event.
      const again = await s.publisher.publish(eventSubject(s.config.nats, e.partition, e.type), e.body, e.id);
      expect(again.duplicate).toBe(true);
      const marker = testEvent('mysql.shop.items.insert', 0);
      await publishEvents(s, [marker]);
      await waitFor(async () => (await routerIdle(s)) && (await deliveryCount(s)) === 3, {
        message: 'marker routed',
      });
      expect((await deliveries(s)).sort(byMsgId)).toEqual(expectedDeliveries(s, [e, marker]).sort(byMsgId));
    } finally {
      await router.stop();
    }
  });
});
