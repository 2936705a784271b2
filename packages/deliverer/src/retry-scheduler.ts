import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import {
  ensureDurable,
  readDelivery,
  readRetryDue,
  retriesStream,
  retriesStreamSubjects,
  retrySchedulerConsumer,
  startPullLoop,
  type Logger,
  type NatsConfig,
  type PullLoop,
} from '@sluice/core';
import type { DeliveryEffects } from './delivery-effects.js';

/** Options of {@link RetryScheduler}. */
export interface RetrySchedulerOptions {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly nats: NatsConfig;
  readonly effects: DeliveryEffects;
  /** Retries the scheduler consumer holds waiting at most (its `max_ack_pending`). */
  readonly maxWaiting: number;
  readonly ackWaitMs: number;
  /** A logger without a `component` binding: the scheduler adds `component: 'retry-scheduler'`. */
  readonly logger: Logger;
  readonly now?: () => number;
}

const FETCH = 256;
const REQUEUE_FAILED_DELAY_MS = 1_000;

/**
 * Moves waiting retries back to their endpoint's delivery subject when they are due. A retry that is
 * not due is `nak`ed for the time left: the server keeps the timer and no process holds it in memory.
 * Every deliverer process runs one; they share the `retry-scheduler` consumer (decision 0007).
 */
export class RetryScheduler {
  readonly #o: RetrySchedulerOptions;
  readonly #now: () => number;
  readonly #log: Logger;
  #loop: PullLoop | undefined;
  /** Retries put back on a delivery subject by this process. */
  moved = 0;

  constructor(options: RetrySchedulerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger.child({ component: 'retry-scheduler' });
  }

  async start(): Promise<void> {
    const { jsm, nats } = this.#o;
    const stream = retriesStream(nats);
    await ensureDurable(jsm, {
      stream,
      durable: retrySchedulerConsumer(),
      filterSubject: retriesStreamSubjects(nats)[0]!,
      maxAckPending: this.#o.maxWaiting,
      ackWaitMs: this.#o.ackWaitMs,
    });
    const consumer = await jetstream(this.#o.nc).consumers.get(stream, retrySchedulerConsumer());
    this.#loop = startPullLoop(consumer, { batch: FETCH, logger: this.#log }, (m) => this.#handle(m));
  }

  /** Stops pulling; retries already pulled are requeued or put back first. */
  async stop(): Promise<void> {
    await this.#loop?.stop();
  }

  async #handle(m: JsMsg): Promise<void> {
    const due = readRetryDue(m.headers);
    const wait = due === undefined ? 0 : due - this.#now();
    if (wait > 0) {
      m.nak(wait);
      return;
    }
    const ref = readDelivery(m);
    if (!ref) {
      // Not something a deliverer wrote: keeping it would block nothing but would never go anywhere.
      this.#log.error({ subject: m.subject, seq: m.seq }, 'retry without delivery headers: dropped');
      m.term();
      return;
    }
    const { effects } = this.#o;
    if (effects.full) await effects.room();
    effects.requeue(ref, m.data).then(
      () => {
        this.moved++;
        m.ack();
      },
      (err: unknown) => {
        this.#log.warn(
          { err, eventId: ref.eventId, endpointId: ref.endpointId },
          'retry not requeued; trying again',
        );
        m.nak(REQUEUE_FAILED_DELAY_MS);
      },
    );
  }
}
