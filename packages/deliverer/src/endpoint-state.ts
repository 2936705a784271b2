import type { Logger } from '@sluice/core';
import {
  admits,
  closedBreaker,
  openBreaker,
  record,
  tick,
  type BreakerPolicy,
  type BreakerState,
} from './circuit-breaker.js';
import type { DeliveryEffects } from './delivery-effects.js';
import { endpointStateChannel, type EndpointStateMessage } from './diagnostics.js';
import type { EndpointHealth } from './endpoint-health.js';
import type { HealthBoard } from './health-board.js';
import { OperationalEventTypes, operationalEvent } from './operational-events.js';
import type { EndpointSignal, Outcome } from './outcome.js';

/** Whether an endpoint may get deliveries now, and how many more. */
export type Gate =
  | { readonly open: true; /** Deliveries that may be in flight now, in total. */ readonly allowed: number }
  | {
      readonly open: false;
      /** When it may reopen, ms since the epoch; absent while disabled (until someone enables it). */
      readonly untilMs?: number;
      readonly why: 'disabled' | 'open' | 'throttled';
    };

/** Options of {@link EndpointState}. */
export interface EndpointStateOptions {
  readonly endpointId: string;
  /** Disabled in the configuration (`endpoints[].enabled: false`). */
  readonly configDisabled: boolean;
  readonly maxInFlight: number;
  readonly breaker: BreakerPolicy;
  /** Failing continuously for this long disables the endpoint, ms. */
  readonly disableAfterMs: number;
  readonly board: HealthBoard;
  readonly effects: DeliveryEffects;
  readonly logger: Logger;
}

/**
 * One endpoint's delivery health in this process: its circuit breaker, its in-flight limit (which
 * halves when the endpoint throttles and grows back by one per success, and starts at the probe
 * count after a recovery, so a backlog drains without a flood), how long it has been failing, and
 * the shared record in the health board that every process follows (decision 0007).
 */
export class EndpointState {
  readonly #o: EndpointStateOptions;
  #breaker: BreakerState;
  #limit: number;
  /** First failure since the last success, in this process. */
  #failingSinceMs: number | undefined;
  #wasDisabled: boolean;
  // What this process decided and the shared record may not show yet: writing it takes KV round
  // trips, and meanwhile the gate let the next fetch out at once — an attempt 3 ms after a 429 with
  // `Retry-After: 1`. Each is dropped once its write settled, when the board has it (or never will).
  #unshared = { throttledUntilMs: 0, disabled: false };

  constructor(options: EndpointStateOptions, nowMs: number) {
    this.#o = options;
    this.#breaker = closedBreaker(nowMs);
    this.#limit = options.maxInFlight;
    this.#wasDisabled = options.board.get(options.endpointId).disabled;
  }

  /** The breaker state, for stats and logs. */
  get breaker(): BreakerState['kind'] {
    return this.#breaker.kind;
  }

  /** Whether deliveries may go out at `nowMs`, from this process's breaker and the shared health. */
  gate(nowMs: number): Gate {
    const h = this.#o.board.get(this.#o.endpointId);
    const local = this.#unshared;
    if (this.#o.configDisabled || h.disabled || local.disabled) return { open: false, why: 'disabled' };
    const throttledUntilMs = Math.max(h.throttledUntilMs ?? 0, local.throttledUntilMs);
    if (throttledUntilMs > nowMs) return { open: false, untilMs: throttledUntilMs, why: 'throttled' };
    // Another process opened the breaker: follow it, keeping this process's open period for backoff.
    if (h.openUntilMs !== undefined && h.openUntilMs > nowMs && this.#breaker.kind !== 'open')
      this.#breaker = openBreaker(h.openUntilMs, h.openUntilMs - h.updatedAtMs || this.#o.breaker.openMs);
    this.#breaker = tick(this.#breaker, this.#o.breaker, nowMs);
    if (this.#breaker.kind === 'open') return { open: false, untilMs: this.#breaker.untilMs, why: 'open' };
    return { open: true, allowed: Math.min(this.#limit, admits(this.#breaker, this.#o.breaker)) };
  }

  /**
   * Follows a change of the shared record: an endpoint enabled again starts afresh, as after a
   * recovery, instead of being disabled again by its first failure.
   */
  healthChanged(h: EndpointHealth, nowMs: number): void {
    if (h.disabled) {
      this.#wasDisabled = true;
      return;
    }
    if (!this.#wasDisabled) return;
    this.#wasDisabled = false;
    this.#failingSinceMs = undefined;
    this.#breaker = closedBreaker(nowMs);
    this.#limit = Math.min(this.#o.maxInFlight, this.#o.breaker.probes);
  }

  /** Takes in what one attempt said about the endpoint. */
  observe(signal: EndpointSignal, outcome: Outcome, nowMs: number): void {
    if (signal.gone) {
      this.#disable('gone', nowMs);
      return;
    }
    if (signal.throttle) {
      this.#limit = Math.max(1, Math.floor(this.#limit / 2));
      if (signal.pauseMs !== undefined && signal.pauseMs > 0) {
        const until = nowMs + signal.pauseMs;
        this.#tell({ state: 'throttled', untilMs: until });
        this.#unshared.throttledUntilMs = Math.max(this.#unshared.throttledUntilMs, until);
        this.#write(
          (h) =>
            h.throttledUntilMs !== undefined && h.throttledUntilMs >= until
              ? undefined
              : { ...h, throttledUntilMs: until, updatedAtMs: nowMs },
          () => {
            if (this.#unshared.throttledUntilMs === until) this.#unshared.throttledUntilMs = 0;
          },
        );
      }
    }
    if (signal.failure) this.#failed(nowMs);
    else if (outcome.kind === 'delivered' || outcome.kind === 'dead-letter') this.#succeeded(nowMs);
  }

  #failed(nowMs: number): void {
    this.#failingSinceMs ??= nowMs;
    const before = tick(this.#breaker, this.#o.breaker, nowMs).kind;
    const after = record(this.#breaker, this.#o.breaker, false, nowMs);
    this.#breaker = after;
    const since = Math.min(
      this.#failingSinceMs,
      this.#o.board.get(this.#o.endpointId).failingSinceMs ?? nowMs,
    );
    if (nowMs - since >= this.#o.disableAfterMs) {
      this.#disable('failing', nowMs, since);
      return;
    }
    if (after.kind === 'open' && before !== 'open') {
      const until = after.untilMs;
      this.#o.logger.warn({ openUntil: new Date(until).toISOString() }, 'circuit breaker opened');
      this.#tell({ state: 'open', untilMs: until });
      this.#write((h) => ({
        ...h,
        openUntilMs: until,
        failingSinceMs: h.failingSinceMs ?? since,
        updatedAtMs: nowMs,
      }));
    }
  }

  #succeeded(nowMs: number): void {
    this.#failingSinceMs = undefined;
    const before = tick(this.#breaker, this.#o.breaker, nowMs).kind;
    const after = record(this.#breaker, this.#o.breaker, true, nowMs);
    this.#breaker = after;
    if (before === 'half-open' && after.kind === 'closed') {
      // Recovered: restart from the probe count and ramp up, so the parked backlog does not flood it.
      this.#limit = Math.min(this.#o.maxInFlight, this.#o.breaker.probes);
      const shared = this.#o.board.get(this.#o.endpointId);
      this.#o.logger.info('circuit breaker closed: endpoint recovered');
      this.#tell({ state: 'closed' });
      this.#write((h) => ({ ...h, openUntilMs: undefined, failingSinceMs: undefined, updatedAtMs: nowMs }));
      this.#announce(OperationalEventTypes.endpointRecovered, shared.failingSinceMs ?? nowMs, nowMs);
    } else if (this.#limit < this.#o.maxInFlight) this.#limit++;
  }

  #disable(reason: 'gone' | 'failing', nowMs: number, failingSinceMs?: number): void {
    if (this.#o.board.get(this.#o.endpointId).disabled || this.#unshared.disabled) return;
    this.#o.logger.error({ reason }, 'endpoint disabled');
    this.#tell({ state: 'disabled', reason });
    this.#unshared.disabled = true;
    this.#write(
      (h) =>
        h.disabled
          ? undefined
          : { ...h, disabled: true, disabledReason: reason, disabledAtMs: nowMs, updatedAtMs: nowMs },
      () => (this.#unshared.disabled = false),
    );
    this.#announce(OperationalEventTypes.endpointDisabled, failingSinceMs ?? nowMs, nowMs, reason);
  }

  #announce(type: string, sinceMs: number, nowMs: number, reason?: string): void {
    const event = operationalEvent(
      type,
      { endpointId: this.#o.endpointId, reason, failingSince: new Date(sinceMs).toISOString() },
      String(sinceMs),
      nowMs,
    );
    this.#o.effects
      .operational(event)
      .catch((err: unknown) => this.#o.logger.warn({ err, type }, 'operational event not published'));
  }

  #tell(m: Omit<EndpointStateMessage, 'endpointId'>): void {
    if (endpointStateChannel.hasSubscribers)
      endpointStateChannel.publish({ endpointId: this.#o.endpointId, ...m });
  }

  #write(change: (h: EndpointHealth) => EndpointHealth | undefined, settled = (): void => undefined): void {
    this.#o.board.update(this.#o.endpointId, change).then(settled, (err: unknown) => {
      this.#o.logger.warn({ err }, 'endpoint health not written');
      settled();
    });
  }
}
