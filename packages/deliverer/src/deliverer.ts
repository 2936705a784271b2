import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamManager } from '@nats-io/jetstream';
import {
  deliveriesStream,
  deliveryEndpointFilter,
  endpointConsumer,
  ensureDurable,
  openEndpointHealth,
  openRateLimits,
  type DelivererConfig,
  type EndpointConfig,
  type Logger,
  type MainKey,
  type NatsConfig,
  type SubscriptionConfig,
} from '@sluice/core';
import { DeliveryEffects } from './delivery-effects.js';
import { DeliveryPool } from './delivery-pool.js';
import { InProcessSender, type DeliverySender, type DeliveryTarget } from './delivery-sender.js';
import { EndpointActor, type DelivererStats } from './endpoint-actor.js';
import { EndpointKeys } from './endpoint-keys.js';
import { EndpointState } from './endpoint-state.js';
import { HealthBoard } from './health-board.js';
import { ProcessSlots } from './process-slots.js';
import { RateLimiter } from './rate-limiter.js';
import type { RetryPolicy } from './retry-schedule.js';
import { RetryScheduler } from './retry-scheduler.js';
import type { StatusPolicy } from './outcome.js';

/** Options of {@link Deliverer}. */
export interface DelivererOptions {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly nats: NatsConfig;
  readonly deliverer: DelivererConfig;
  readonly endpoints: readonly EndpointConfig[];
  /** For per-subscription retry schedules. @default none */
  readonly subscriptions?: readonly SubscriptionConfig[];
  readonly logger: Logger;
  /**
   * Seals and opens managed signing secrets (docs/signing.md); required when some endpoint has no
   * inline `secret` or signs `v1a`. @default none
   */
  readonly mainKey?: MainKey;
  /** Wall clock, ms since the epoch: webhook timestamps, retry due times, breaker periods. @default Date.now */
  readonly now?: () => number;
}

/**
 * Delivers: one {@link EndpointActor} per endpoint pulls that endpoint's deliveries from its own
 * consumer and POSTs them with Standard Webhooks headers; failures go to the retries stream, spent
 * or non-retryable ones to the DLQ, and a {@link RetryScheduler} puts due retries back. Endpoints
 * whose breaker is open, that throttle or that are disabled are not pulled from at all: their
 * deliveries stay parked in the stream (docs/decisions/0007-delivery-engine.md).
 */
export class Deliverer {
  readonly #o: DelivererOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #sender: DeliverySender;
  readonly #effects: DeliveryEffects;
  readonly #slots: ProcessSlots;
  readonly #actors = new Map<string, EndpointActor>();
  readonly #states = new Map<string, EndpointState>();
  #board: HealthBoard | undefined;
  #scheduler: RetryScheduler | undefined;
  #keys: EndpointKeys | undefined;
  readonly stats: DelivererStats = {
    delivered: 0,
    retried: 0,
    deadLettered: 0,
    parked: 0,
    inFlight: 0,
    batches: 0,
  };

  constructor(options: DelivererOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'deliverer' });
    this.#now = options.now ?? Date.now;
    this.#sender = senderOf(options.deliverer, () => this.stats.batches++);
    this.#effects = new DeliveryEffects(options.nc, options.nats, options.deliverer.concurrency * 2);
    this.#slots = new ProcessSlots(options.deliverer.concurrency, options.endpoints.length);
  }

  /** Opens the health board, creates each endpoint's consumer and starts delivering. */
  async start(): Promise<void> {
    const { nc, jsm, nats, deliverer: cfg } = this.#o;
    // First: a missing or wrong main key stops the start before anything is pulled.
    const keys = await EndpointKeys.load({
      nc,
      nats,
      endpoints: this.#o.endpoints,
      mainKey: this.#o.mainKey,
      logger: this.#log,
      now: this.#now,
    });
    this.#keys = keys;
    const board = new HealthBoard(await openEndpointHealth(nc, nats), this.#log);
    await board.start();
    this.#board = board;
    const limited = this.#o.endpoints.some((e) => e.ratePerSecond !== undefined);
    const limiter = limited ? new RateLimiter(await openRateLimits(nc, nats)) : undefined;
    const statuses: StatusPolicy = {
      nonRetryable: new Set(cfg.nonRetryableStatuses),
      throttle: new Set(cfg.throttleStatuses),
    };
    const js = jetstream(nc);
    const stream = deliveriesStream(nats);
    for (const e of this.#o.endpoints) {
      const durable = endpointConsumer(e.id);
      await ensureDurable(jsm, {
        stream,
        durable,
        filterSubject: deliveryEndpointFilter(nats, e.id),
        maxAckPending: e.maxInFlight,
        ackWaitMs: cfg.ackWaitMs,
      });
      const log = this.#log.child({ endpointId: e.id });
      const state = new EndpointState(
        {
          endpointId: e.id,
          configDisabled: !e.enabled,
          maxInFlight: e.maxInFlight,
          breaker: {
            windowMs: cfg.breakerWindowMs,
            minRequests: cfg.breakerMinRequests,
            failureRatio: cfg.breakerFailureRatio,
            consecutiveFailures: cfg.breakerConsecutiveFailures,
            openMs: cfg.breakerOpenMs,
            maxOpenMs: cfg.breakerMaxOpenMs,
            probes: cfg.breakerProbes,
          },
          disableAfterMs: cfg.disableAfterMs,
          board,
          effects: this.#effects,
          logger: log,
        },
        this.#now(),
      );
      const actor = new EndpointActor({
        endpointId: e.id,
        target: targetOf(e, keys, cfg.allowNetworks),
        consumer: await js.consumers.get(stream, durable),
        state,
        maxInFlight: e.maxInFlight,
        ratePerSecond: e.ratePerSecond,
        retryPolicy: this.#retryPolicy(e),
        statuses,
        ackWaitMs: cfg.ackWaitMs,
        sender: this.#sender,
        effects: this.#effects,
        limiter,
        slots: this.#slots,
        stats: this.stats,
        logger: log,
        now: this.#now,
      });
      this.#states.set(e.id, state);
      this.#actors.set(e.id, actor);
    }
    board.onChange((id, h) => {
      this.#states.get(id)?.healthChanged(h, this.#now());
      this.#actors.get(id)?.wake();
    });
    this.#scheduler = new RetryScheduler({
      nc,
      jsm,
      nats,
      effects: this.#effects,
      maxWaiting: cfg.retryMaxWaiting,
      ackWaitMs: cfg.ackWaitMs,
      // The logger this deliverer was given: the scheduler names its own component, and a child of
      // this.#log would carry `component` twice in every line.
      logger: this.#o.logger,
      now: this.#now,
    });
    await this.#scheduler.start();
    await this.#sender.ready();
    for (const a of this.#actors.values()) a.start();
    this.#log.info({ endpoints: this.#actors.size }, 'deliverer started');
  }

  /** Stops taking deliveries, waits for attempts in flight and their settlements, then closes. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.#actors.values()].map((a) => a.stop()));
    await this.#scheduler?.stop();
    await this.#effects.close();
    this.#board?.stop();
    await this.#keys?.stop();
    await this.#sender.close();
  }

  /** Breaker state per endpoint in this process (`closed`, `open`, `half-open`). */
  breakers(): Record<string, string> {
    return Object.fromEntries([...this.#states].map(([id, s]) => [id, s.breaker]));
  }

  // Most specific first: the subscription's schedule, the endpoint's, the deliverer's.
  #retryPolicy(e: EndpointConfig): (subscriptionId: string) => RetryPolicy {
    const cfg = this.#o.deliverer;
    const base = { jitter: cfg.retryJitter, retryAfterMaxMs: cfg.retryAfterMaxMs };
    const endpointPolicy: RetryPolicy = { ...base, schedule: e.retrySchedule ?? cfg.retrySchedule };
    const bySubscription = new Map<string, RetryPolicy>();
    for (const s of this.#o.subscriptions ?? [])
      if (s.endpoint === e.id && s.retrySchedule)
        bySubscription.set(s.id, { ...base, schedule: s.retrySchedule });
    return (id) => bySubscription.get(id) ?? endpointPolicy;
  }
}

function targetOf(e: EndpointConfig, keys: EndpointKeys, allowNetworks: readonly string[]): DeliveryTarget {
  return {
    url: e.url,
    // Read at every send: a rotation switches keys without a restart (endpoint-keys.ts).
    get keys() {
      return keys.keysOf(e.id);
    },
    timeoutMs: e.timeoutMs,
    connectTimeoutMs: e.connectTimeoutMs,
    headersTimeoutMs: e.headersTimeoutMs ?? e.timeoutMs,
    allowNetworks: [...allowNetworks, ...(e.allowNetworks ?? [])],
  };
}

function senderOf(cfg: DelivererConfig, onBatch: () => void): DeliverySender {
  const shared = {
    connectionsPerOrigin: cfg.connectionsPerOrigin,
    excerptBytes: cfg.responseExcerptBytes,
    dnsServers: cfg.dnsServers,
  };
  if (cfg.mode === 'in-process') return new InProcessSender(shared);
  return new DeliveryPool({
    ...shared,
    threads: cfg.poolThreads,
    batch: cfg.poolBatch,
    batchWaitMs: cfg.poolBatchWaitMs,
    maxInFlight: cfg.concurrency,
    onBatch,
  });
}
