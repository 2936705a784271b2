import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { readDelivery, startPullLoop, type DeliveryRef, type Logger, type PullLoop } from '@sluice/core';
import type { AttemptRecord } from './attempt-record.js';
import { attemptChannel } from './diagnostics.js';
import type { DeliveryEffects } from './delivery-effects.js';
import type { DeliverySender, DeliveryTarget } from './delivery-sender.js';
import type { EndpointState, Gate } from './endpoint-state.js';
import { classify, type Outcome, type StatusPolicy } from './outcome.js';
import type { ProcessSlots } from './process-slots.js';
import type { RateLimiter } from './rate-limiter.js';
import type { RetryPolicy } from './retry-schedule.js';

/** Counters of one deliverer process, shared by its endpoints. */
export interface DelivererStats {
  delivered: number;
  /** Attempts that failed and were scheduled again. */
  retried: number;
  deadLettered: number;
  /** Deliveries put back unattempted because their endpoint was closed (breaker, throttle, disabled). */
  parked: number;
  inFlight: number;
  /** Worker-pool tasks dispatched, each a batch of deliveries (`mode: pool`; 0 in-process). */
  batches: number;
}

/** Options of {@link EndpointActor}. */
export interface EndpointActorOptions {
  readonly endpointId: string;
  readonly target: DeliveryTarget;
  readonly consumer: Consumer;
  readonly state: EndpointState;
  readonly maxInFlight: number;
  readonly ratePerSecond: number | undefined;
  readonly retryPolicy: (subscriptionId: string) => RetryPolicy;
  readonly statuses: StatusPolicy;
  readonly ackWaitMs: number;
  readonly sender: DeliverySender;
  readonly effects: DeliveryEffects;
  readonly limiter: RateLimiter | undefined;
  readonly slots: ProcessSlots;
  readonly stats: DelivererStats;
  readonly logger: Logger;
  readonly now: () => number;
}

const MAX_FETCH = 256;
// A delivery put back while its endpoint is disabled waits for someone to enable it. Nothing pulls for
// a disabled endpoint, so a short delay costs nothing while it is off, and once it is enabled the
// delivery is among the first handed out instead of holding one of its slots for a long delay.
const DISABLED_PARK_MS = 1_000;
const PUBLISH_FAILED_DELAY_MS = 1_000;
const STOPPING = Symbol('stopping');

/**
 * One endpoint in one deliverer process: pulls from the endpoint's own consumer only as much as its
 * gate allows, attempts each delivery, and settles each message from the outcome (decision 0007).
 * While the gate is closed it does not pull at all: the endpoint's deliveries stay parked in the stream.
 */
export class EndpointActor {
  readonly #o: EndpointActorOptions;
  #loop: PullLoop | undefined;
  #inFlight = 0;
  #stopping = false;
  #wakers: (() => void)[] = [];
  #tokens = { second: -1, left: 0 };
  // Deliveries waiting for a rate-limit token take turns in fetch order, one KV request at a time.
  #tokenTurn: Promise<unknown> = Promise.resolve();

  constructor(options: EndpointActorOptions) {
    this.#o = options;
  }

  start(): void {
    const batch = Math.min(MAX_FETCH, this.#o.maxInFlight);
    this.#loop = startPullLoop(
      this.#o.consumer,
      { batch, logger: this.#o.logger, capacity: () => this.#capacity() },
      (m) => this.#dispatch(m),
    );
  }

  /** Stops pulling and waits for this endpoint's attempts in flight. */
  async stop(): Promise<void> {
    this.#stopping = true;
    // The loop's own stop flag is set synchronously, before a woken #capacity returns: it then
    // fetches nothing more.
    const stopped = this.#loop?.stop();
    this.wake();
    await stopped;
    while (this.#inFlight > 0) await new Promise<void>((r) => this.#wakers.push(r));
  }

  /** Re-evaluates the gate now (health changed, a slot freed, stopping). */
  wake(): void {
    const w = this.#wakers;
    this.#wakers = [];
    for (const f of w) f();
  }

  // Resolves with how many deliveries to fetch: only once the gate is open, this endpoint has room
  // under its limit, and the process has a free slot. Until then nothing is pulled.
  async #capacity(): Promise<number> {
    const { slots, effects } = this.#o;
    for (;;) {
      if (this.#stopping) return 1;
      const gate = this.#o.state.gate(this.#o.now());
      if (!gate.open) {
        await this.#sleep(gate.untilMs);
        continue;
      }
      const room = gate.allowed - this.#inFlight;
      if (room <= 0) {
        await this.#sleep(undefined);
        continue;
      }
      const free = slots.freeFor(this.#inFlight);
      if (free <= 0) {
        await Promise.race([slots.next(), this.#sleep(undefined)]);
        continue;
      }
      if (effects.full) await effects.room();
      // With a rate limit, fetch only about what one token grant covers: a larger fetch would wait
      // for tokens without progress reports and could outlive ack_wait at low rates.
      const rate = this.#o.ratePerSecond;
      return Math.min(room, free, rate === undefined ? room : tokenBatch(rate));
    }
  }

  #sleep(untilMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer =
        untilMs === undefined ? undefined : setTimeout(resolve, Math.max(1, untilMs - this.#o.now()));
      this.#wakers.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async #dispatch(m: JsMsg): Promise<void> {
    const ref = readDelivery(m);
    if (!ref) {
      this.#o.logger.error({ subject: m.subject, seq: m.seq }, 'delivery without sluice headers: dropped');
      m.term();
      return;
    }
    const gate = this.#o.state.gate(this.#o.now());
    if (!gate.open || this.#inFlight >= gate.allowed) {
      this.#park(m, ref, gate);
      return;
    }
    this.#inFlight++;
    void this.#attempt(m, ref).finally(() => {
      this.#inFlight--;
      this.wake();
    });
  }

  async #attempt(m: JsMsg, ref: DeliveryRef): Promise<void> {
    const perSecond = this.#o.ratePerSecond;
    if (perSecond !== undefined && !(await this.#turnForToken(m, ref, perSecond))) return;
    this.#o.stats.inFlight++;
    this.#o.slots.take();
    try {
      await this.#deliver(m, ref);
    } finally {
      this.#o.stats.inFlight--;
      this.#o.slots.release();
    }
  }

  // A fetch can bring more deliveries than the rate lets out within ack_wait (a backlog behind a low
  // rate, shared with other processes). Awaited inside the pull loop, the rest of the fetch waited
  // without progress acks, the server handed them out again, and they were POSTed twice. So each
  // waits here, kept alive, for its turn; false when it was put back instead.
  async #turnForToken(m: JsMsg, ref: DeliveryRef, perSecond: number): Promise<boolean> {
    const progress = setInterval(() => m.working(), this.#progressMs);
    const turn = this.#tokenTurn.then(() => this.#token(perSecond));
    this.#tokenTurn = turn.catch(() => undefined);
    try {
      await turn;
      return true;
    } catch (err) {
      if (err !== STOPPING) this.#o.logger.warn({ err }, 'rate limit not readable: delivery put back');
      this.#settle(m, ref, { kind: 'parked', delayMs: PUBLISH_FAILED_DELAY_MS });
      return false;
    } finally {
      clearInterval(progress);
    }
  }

  get #progressMs(): number {
    return Math.max(100, Math.floor(this.#o.ackWaitMs / 3));
  }

  // Fetched, but the endpoint closed meanwhile: back to the stream unattempted, until it may reopen.
  #park(m: JsMsg, ref: DeliveryRef, gate: Gate): void {
    const until = gate.open ? this.#o.now() : (gate.untilMs ?? this.#o.now() + DISABLED_PARK_MS);
    this.#o.stats.parked++;
    this.#settle(m, ref, { kind: 'parked', delayMs: Math.max(1, until - this.#o.now()) });
  }

  async #token(perSecond: number): Promise<void> {
    const limiter = this.#o.limiter!;
    for (;;) {
      // A stop does not wait out a backlog at a low rate: what still waits for a token goes back.
      if (this.#stopping) throw STOPPING;
      const now = this.#o.now();
      const second = Math.floor(now / 1000);
      if (this.#tokens.second === second && this.#tokens.left > 0) {
        this.#tokens.left--;
        return;
      }
      const want = tokenBatch(perSecond);
      const grant = await limiter.take(this.#o.endpointId, want, perSecond, now);
      if (grant.granted > 0) this.#tokens = { second, left: grant.granted };
      else await new Promise((r) => setTimeout(r, Math.max(1, grant.retryAtMs - this.#o.now())));
    }
  }

  async #deliver(m: JsMsg, ref: DeliveryRef): Promise<void> {
    // An endpoint's timeoutMs is independent of ack_wait and may exceed it. Without progress acks
    // the server would redeliver the message while this attempt is still in flight, and the
    // endpoint would get concurrent duplicates.
    const progress = setInterval(() => m.working(), this.#progressMs);
    const startedAt = this.#o.now();
    let outcome: Outcome;
    try {
      const result = await this.#o.sender.send({
        target: this.#o.target,
        eventId: ref.eventId,
        timestampSec: Math.floor(startedAt / 1000),
        body: m.data,
      });
      const nowMs = this.#o.now();
      const c = classify(
        result,
        ref.attempt,
        this.#o.retryPolicy(ref.subscriptionId),
        this.#o.statuses,
        nowMs,
      );
      this.#o.state.observe(c.signal, c.outcome, nowMs);
      outcome = c.outcome;
    } catch (err) {
      // A bug, not an endpoint failure: keep the message, unattempted, and say so loudly.
      this.#o.logger.error({ err, seq: m.seq }, 'delivery attempt threw');
      outcome = { kind: 'parked', delayMs: PUBLISH_FAILED_DELAY_MS };
    } finally {
      clearInterval(progress);
    }
    const attempt = attemptRecord(ref, outcome, startedAt);
    this.#o.effects.record(attempt);
    if (attemptChannel.hasSubscribers) attemptChannel.publish(attempt);
    // The record holds no header, signature or body (I7 in docs/architecture.md). Debug: a dead endpoint
    // would otherwise flood the log; the attempts stream keeps every one anyway.
    if (this.#o.logger.isLevelEnabled('debug')) {
      // The logger's bindings carry endpointId already; a repeated key breaks strict log pipelines.
      const { endpointId: _, ...fields } = attempt;
      this.#o.logger.debug(fields, 'delivery attempt');
    }
    this.#settle(m, ref, outcome);
  }

  /** The one place that maps an outcome to what happens to the message. */
  #settle(m: JsMsg, ref: DeliveryRef, o: Outcome): void {
    const { effects, stats } = this.#o;
    const now = this.#o.now();
    const keep = (err: unknown): void => {
      this.#o.logger.warn({ err, eventId: ref.eventId }, 'delivery not settled; it will be attempted again');
      m.nak(PUBLISH_FAILED_DELAY_MS);
    };
    switch (o.kind) {
      case 'delivered':
        stats.delivered++;
        m.ack();
        return;
      case 'retry':
        stats.retried++;
        effects.retry(ref, m.data, o.attempt, now + o.delayMs).then(() => m.ack(), keep);
        return;
      case 'dead-letter':
        stats.deadLettered++;
        effects.deadLetter(ref, m.data, o, now).then(() => {
          m.ack();
          if (o.reason === 'exhausted') this.#announceExhausted(ref, o);
        }, keep);
        return;
      case 'gone':
        m.nak(DISABLED_PARK_MS);
        return;
      case 'parked':
        m.nak(o.delayMs);
        return;
    }
  }

  #announceExhausted(ref: DeliveryRef, o: Extract<Outcome, { kind: 'dead-letter' }>): void {
    this.#o.effects
      .exhausted(ref, o, this.#o.now())
      .catch((err: unknown) => this.#o.logger.warn({ err }, 'operational event not published'));
  }
}

/** Tokens taken at a time: a tenth of a second's worth, so few KV round trips and little left unused. */
function tokenBatch(perSecond: number): number {
  return Math.max(1, Math.ceil(perSecond / 10));
}

function attemptRecord(ref: DeliveryRef, o: Outcome, at: number): AttemptRecord {
  const base = {
    at,
    eventId: ref.eventId,
    subscriptionId: ref.subscriptionId,
    endpointId: ref.endpointId,
    attempt: ref.attempt,
    outcome: o.kind,
  };
  switch (o.kind) {
    case 'delivered':
    case 'gone':
      return { ...base, status: o.status, latencyMs: Math.round(o.latencyMs) };
    case 'retry':
    case 'dead-letter':
      return {
        ...base,
        status: o.status,
        error: o.error,
        latencyMs: o.latencyMs === undefined ? undefined : Math.round(o.latencyMs),
        excerpt: o.excerpt,
        nextAt: o.kind === 'retry' ? at + (o.latencyMs ?? 0) + o.delayMs : undefined,
      };
    case 'parked':
      return base;
  }
}
