import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import {
  DeliveryHeaders,
  deliveriesStream,
  delivererConsumer,
  deliveriesStreamSubjects,
  ensureDurable,
  startPullLoop,
  type PullLoop,
  type DelivererConfig,
  type EndpointConfig,
  type Logger,
  type NatsConfig,
} from '@sluice/core';
import { retryDelayMs, parseRetryAfter } from './backoff.js';
import { DeliveryPool } from './delivery-pool.js';
import { InProcessSender, type DeliverySender, type DeliveryTarget } from './delivery-sender.js';
import type { HttpResult } from './http-dispatch.js';
import { settle, type Outcome } from './outcome.js';
import { secretKey } from './signature.js';

/** Options of {@link Deliverer}. */
export interface DelivererOptions {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly nats: NatsConfig;
  readonly deliverer: DelivererConfig;
  readonly endpoints: readonly EndpointConfig[];
  readonly logger: Logger;
  /** Wall clock for webhook timestamps, ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** Counters of one deliverer process. */
export interface DelivererStats {
  delivered: number;
  retried: number;
  givenUp: number;
  inFlight: number;
  /** Worker-pool tasks dispatched, each a batch of deliveries (`mode: pool`; 0 in-process). */
  batches: number;
}

interface Endpoint {
  readonly config: EndpointConfig;
  readonly target: DeliveryTarget;
}

/**
 * Delivers: consumes SLUICE_DELIVERIES, POSTs each event to its endpoint with Standard Webhooks
 * headers, and settles the message from the outcome (ack on 2xx, nak with backoff otherwise).
 * At most `concurrency` requests are in flight per process, in either `mode`: the POSTs run on this
 * thread (`in-process`) or batched in a worker pool (`pool`); outcomes and settling stay here.
 */
export class Deliverer {
  readonly #o: DelivererOptions;
  readonly #log: Logger;
  readonly #endpoints: Map<string, Endpoint>;
  readonly #sender: DeliverySender;
  readonly #now: () => number;
  #loop: PullLoop | undefined;
  #slotWaiter: (() => void) | undefined;
  #idleWaiter: (() => void) | undefined;
  readonly stats: DelivererStats = {
    delivered: 0,
    retried: 0,
    givenUp: 0,
    inFlight: 0,
    batches: 0,
  };

  constructor(options: DelivererOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'deliverer' });
    this.#endpoints = new Map(options.endpoints.map((e) => [e.id, endpointOf(e)]));
    this.#sender = senderOf(options.deliverer, () => this.stats.batches++);
    this.#now = options.now ?? Date.now;
  }

  /** Creates the consumer and starts delivering. */
  async start(): Promise<void> {
    const { jsm, nats, deliverer } = this.#o;
    const stream = deliveriesStream(nats);
    await ensureDurable(jsm, {
      stream,
      durable: delivererConsumer(),
      filterSubject: deliveriesStreamSubjects(nats)[0]!,
      maxAckPending: deliverer.maxAckPending,
      ackWaitMs: deliverer.ackWaitMs,
    });
    const consumer = await jetstream(this.#o.nc).consumers.get(stream, delivererConsumer());
    // A pull of `concurrency` messages while up to `concurrency` requests are in flight keeps the
    // pipe full; on stop, what was pulled is still attempted (see core pull-loop.ts for why).
    const batch = Math.min(deliverer.concurrency, deliverer.maxAckPending);
    this.#loop = startPullLoop(
      consumer,
      { batch, logger: this.#log, capacity: () => this.#freeSlots() },
      (m) => this.#dispatch(m),
    );
    this.#log.info({ endpoints: this.#endpoints.size }, 'deliverer started');
  }

  /** Stops taking messages and waits for in-flight requests to settle. */
  async stop(): Promise<void> {
    await this.#loop?.stop();
    if (this.stats.inFlight > 0) await new Promise<void>((r) => (this.#idleWaiter = r));
    await this.#sender.close();
  }

  async #freeSlots(): Promise<number> {
    const limit = this.#o.deliverer.concurrency;
    if (this.stats.inFlight >= limit) await new Promise<void>((r) => (this.#slotWaiter = r));
    return limit - this.stats.inFlight;
  }

  async #dispatch(m: JsMsg): Promise<void> {
    if (this.stats.inFlight >= this.#o.deliverer.concurrency)
      await new Promise<void>((r) => (this.#slotWaiter = r));
    this.stats.inFlight++;
    void this.#deliver(m).finally(() => this.#release());
  }

  #release(): void {
    this.stats.inFlight--;
    const w = this.#slotWaiter;
    this.#slotWaiter = undefined;
    w?.();
    if (this.stats.inFlight === 0) {
      const i = this.#idleWaiter;
      this.#idleWaiter = undefined;
      i?.();
    }
  }

  async #deliver(m: JsMsg): Promise<void> {
    // An endpoint's timeoutMs is independent of ack_wait and may exceed it. Without progress acks
    // the server would redeliver the message while this attempt is still in flight, and the
    // endpoint would get concurrent duplicates (and each one hold another ack-pending slot).
    const progress = setInterval(
      () => m.working(),
      Math.max(100, Math.floor(this.#o.deliverer.ackWaitMs / 3)),
    );
    let outcome: Outcome;
    try {
      outcome = await this.#attempt(m);
    } catch (err) {
      // A bug, not an endpoint failure: keep the message and say so loudly.
      this.#log.error({ err, seq: m.seq }, 'delivery attempt threw');
      outcome = { kind: 'retry', delayMs: this.#o.deliverer.retryMaxMs, reason: 'internal' };
    } finally {
      clearInterval(progress);
    }
    this.#count(outcome);
    this.#logAttempt(m, outcome);
    settle(m, outcome);
  }

  async #attempt(m: JsMsg): Promise<Outcome> {
    const endpointId = m.headers?.get(DeliveryHeaders.endpoint) ?? '';
    const eventId = m.headers?.get(DeliveryHeaders.eventId) ?? '';
    const endpoint = this.#endpoints.get(endpointId);
    const cfg = this.#o.deliverer;
    if (!endpoint) {
      this.#log.error({ endpointId, eventId }, 'delivery for an endpoint that is not configured');
      return { kind: 'give-up', reason: 'unknown-endpoint' };
    }
    if (!endpoint.config.enabled)
      return { kind: 'retry', delayMs: cfg.retryMaxMs, reason: 'endpoint-disabled' };
    const nowMs = this.#now();
    const result = await this.#sender.send({
      target: endpoint.target,
      eventId,
      timestampSec: Math.floor(nowMs / 1000),
      body: m.data,
    });
    return outcomeOf(result, m.info.deliveryCount, cfg, nowMs);
  }

  // One line per attempt, without headers, body or response excerpt: signatures and payloads must
  // never reach a log (design.md I7). Debug, because a dead endpoint would otherwise flood the log.
  #logAttempt(m: JsMsg, o: Outcome): void {
    if (!this.#log.isLevelEnabled('debug')) return;
    const detail =
      o.kind === 'retry'
        ? { status: o.status, reason: o.reason, error: o.error, latencyMs: o.latencyMs, delayMs: o.delayMs }
        : o.kind === 'delivered'
          ? { status: o.status, latencyMs: o.latencyMs }
          : { status: o.status, reason: o.reason };
    this.#log.debug(
      {
        endpointId: m.headers?.get(DeliveryHeaders.endpoint),
        eventId: m.headers?.get(DeliveryHeaders.eventId),
        attempt: m.info.deliveryCount,
        outcome: o.kind,
        ...detail,
      },
      'delivery attempt',
    );
  }

  #count(o: Outcome): void {
    if (o.kind === 'delivered') this.stats.delivered++;
    else if (o.kind === 'retry') this.stats.retried++;
    else this.stats.givenUp++;
  }
}

function endpointOf(config: EndpointConfig): Endpoint {
  const { url, timeoutMs, connectTimeoutMs } = config;
  return { config, target: { url, keys: [secretKey(config.secret)], timeoutMs, connectTimeoutMs } };
}

function senderOf(cfg: DelivererConfig, onBatch: () => void): DeliverySender {
  const shared = { connectionsPerOrigin: cfg.connectionsPerOrigin, excerptBytes: cfg.responseExcerptBytes };
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

/** Maps an HTTP result to an outcome: 2xx delivered, anything else retried with backoff. */
export function outcomeOf(r: HttpResult, attempt: number, cfg: DelivererConfig, nowMs: number): Outcome {
  const policy = { minMs: cfg.retryMinMs, maxMs: cfg.retryMaxMs };
  if (!r.ok)
    return {
      kind: 'retry',
      delayMs: retryDelayMs(attempt, policy, undefined),
      reason: r.error,
      error: r.message,
      latencyMs: r.latencyMs,
    };
  if (r.status >= 200 && r.status < 300)
    return { kind: 'delivered', status: r.status, latencyMs: r.latencyMs };
  const retryAfter = parseRetryAfter(r.headers['retry-after'], nowMs);
  return {
    kind: 'retry',
    delayMs: retryDelayMs(attempt, policy, retryAfter),
    reason: 'http-status',
    status: r.status,
    excerpt: r.excerpt,
    latencyMs: r.latencyMs,
  };
}
