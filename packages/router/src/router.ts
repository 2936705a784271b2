import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import {
  AckWindowPublisher,
  ensureDurable,
  routedDelivery,
  startPullLoop,
  type PullLoop,
  eventPartitionFilter,
  eventsStream,
  partitionFromEventSubject,
  routerConsumer,
  typeFromEventSubject,
  type EndpointConfig,
  type Logger,
  type NatsConfig,
  type RouterConfig,
  type SubscriptionConfig,
} from '@sluice/core';
import { ownAllPartitions, type PartitionOwnership } from './partition-owner.js';
import { RoutingTable } from './routing-table.js';

/** Options of {@link Router}. */
export interface RouterOptions {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly nats: NatsConfig;
  readonly router: RouterConfig;
  readonly subscriptions: readonly SubscriptionConfig[];
  readonly endpoints: readonly EndpointConfig[];
  readonly logger: Logger;
  /** Which partitions to consume. @default every partition */
  readonly ownership?: PartitionOwnership;
}

/** Counters of one router process. */
export interface RouterStats {
  eventsRouted: number;
  deliveriesPublished: number;
  eventsUnmatched: number;
  naks: number;
}

// A failed publish is retried by redelivering the event; this delay keeps a broker hiccup from
// turning into a hot loop.
const NAK_DELAY_MS = 1_000;

/**
 * Routes events to deliveries: for each owned partition of SLUICE_EVENTS a durable pull consumer,
 * and for each event one delivery per matching subscription, published with a deterministic Msg-Id.
 * The event is acked only when the stream acknowledged every one of its deliveries, so a crash at
 * any point re-routes it and the Msg-Ids collapse the repeats.
 */
export class Router {
  readonly #o: RouterOptions;
  readonly #table: RoutingTable;
  readonly #log: Logger;
  #publisher: AckWindowPublisher;
  readonly #loops: PullLoop[] = [];
  readonly stats: RouterStats = { eventsRouted: 0, deliveriesPublished: 0, eventsUnmatched: 0, naks: 0 };

  constructor(options: RouterOptions) {
    this.#o = options;
    this.#table = new RoutingTable(options.subscriptions, options.endpoints);
    this.#log = options.logger.child({ component: 'router' });
    this.#publisher = this.#newPublisher();
  }

  /** Creates the partition consumers and starts routing. */
  async start(): Promise<void> {
    const { jsm, nats, router } = this.#o;
    const stream = eventsStream(nats);
    const js = jetstream(this.#o.nc);
    const owned = (this.#o.ownership ?? ownAllPartitions(nats.partitions)).owned();
    for (const p of owned) {
      const durable = routerConsumer(p);
      await ensureDurable(jsm, {
        stream,
        durable,
        filterSubject: eventPartitionFilter(nats, p),
        maxAckPending: router.maxAckPending,
        ackWaitMs: router.ackWaitMs,
      });
      const consumer = await js.consumers.get(stream, durable);
      const batch = Math.min(256, router.maxAckPending);
      this.#loops.push(startPullLoop(consumer, { batch, logger: this.#log }, (m) => this.#handle(m)));
    }
    this.#log.info({ partitions: owned.length }, 'router started');
  }

  /** Stops consuming, waits for outstanding deliveries to be acknowledged, then returns. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.#loops.map((l) => l.stop()));
    await this.#publisher.drain();
    await this.#publisher.close();
  }

  async #handle(m: JsMsg): Promise<void> {
    this.#route(m);
    if (this.#publisher.full) await this.#publisher.room();
  }

  #route(m: JsMsg): void {
    const { nats } = this.#o;
    const type = typeFromEventSubject(nats, m.subject);
    const partition = partitionFromEventSubject(nats, m.subject);
    const eventId = m.headers?.get('Nats-Msg-Id');
    if (type === undefined || partition === undefined || !eventId) {
      // Not something capture wrote; acking keeps it from blocking the partition. Loud, never silent.
      this.#log.error({ subject: m.subject, seq: m.seq }, 'event without type, partition or id: not routed');
      m.ack();
      return;
    }
    const targets = this.#table.match(type);
    if (targets.length === 0) {
      this.stats.eventsUnmatched++;
      m.ack();
      return;
    }
    if (this.#publisher.failure) {
      // A failed publisher stays failed (see AckWindowPublisher); its events were nak'ed.
      void this.#publisher.close();
      this.#publisher = this.#newPublisher();
    }
    const acks = targets.map((t) => {
      try {
        const { subscriptionId, endpointId } = t;
        const d = routedDelivery(nats, { eventId, subscriptionId, endpointId, partition }, m.data);
        return this.#publisher.publish(d.subject, d.data, d.msgId, d.headers);
      } catch (err) {
        // SLUICE_PUBLISH_TOO_LARGE: the delivery's headers pushed an event that just fit over
        // max_payload. It is nak'ed and logged as an error on every attempt: loud, never skipped.
        return Promise.reject(err);
      }
    });
    Promise.all(acks).then(
      () => {
        this.stats.eventsRouted++;
        this.stats.deliveriesPublished += acks.length;
        m.ack();
      },
      (err: unknown) => {
        this.stats.naks++;
        const code = (err as { code?: string }).code;
        const level = code === 'SLUICE_PUBLISH_TOO_LARGE' ? 'error' : 'warn';
        this.#log[level]({ err, code, eventId }, 'deliveries not acknowledged; event will be routed again');
        m.nak(NAK_DELAY_MS);
      },
    );
  }

  #newPublisher(): AckWindowPublisher {
    return new AckWindowPublisher(this.#o.nc, { window: this.#o.router.publishWindow });
  }
}
