import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckWindowPublisher,
  attemptSubject,
  deadLetterMessage,
  eventMessage,
  requeuedDelivery,
  retryMessage,
  type CloudEvent,
  type DeadLetterCause,
  type DeliveryMessage,
  type DeliveryRef,
  type NatsConfig,
  type PubAck,
} from '@sluice/core';
import { encodeAttempt, type AttemptRecord } from './attempt-record.js';
import { OperationalEventTypes, operationalEvent } from './operational-events.js';

/**
 * Everything the delivery engine writes besides acks: waiting retries, dead letters, attempt records and
 * operational events, all through one bounded window of outstanding PubAcks
 * (docs/decisions/0005-publish-window-and-delivery-seams.md).
 */
export class DeliveryEffects {
  readonly #nc: NatsConnection;
  readonly #ns: NatsConfig;
  readonly #window: number;
  #publisher: AckWindowPublisher;

  constructor(nc: NatsConnection, ns: NatsConfig, window: number) {
    this.#nc = nc;
    this.#ns = ns;
    this.#window = window;
    this.#publisher = new AckWindowPublisher(nc, { window });
  }

  /** True when the window is full: await {@link room} before taking more work. */
  get full(): boolean {
    return this.#publisher.full;
  }

  room(): Promise<void> {
    return this.#publisher.room();
  }

  /** Stores a delivery as a waiting retry for attempt `attempt`, due at `dueMs`. */
  retry(ref: DeliveryRef, body: Uint8Array, attempt: number, dueMs: number): Promise<PubAck> {
    return this.#send(retryMessage(this.#ns, ref, body, attempt, dueMs));
  }

  /** Puts a due retry back on its endpoint's delivery subject, for attempt `ref.attempt`. */
  requeue(ref: DeliveryRef, body: Uint8Array): Promise<PubAck> {
    return this.#send(requeuedDelivery(this.#ns, ref, body));
  }

  /** Stores a delivery in the DLQ. */
  deadLetter(ref: DeliveryRef, body: Uint8Array, d: DeadLetterCause, nowMs: number): Promise<PubAck> {
    return this.#send(deadLetterMessage(this.#ns, ref, body, d, nowMs));
  }

  /**
   * Records one attempt. A plain publish to the stream's subject: no reply inbox, no PubAck to match,
   * no Msg-Id for the server to track — a record costs far less than a delivery. Diagnostics only: a
   * record can be lost (a crash, a broker hiccup), a delivery never (decision 0007).
   */
  record(r: AttemptRecord): void {
    try {
      this.#nc.publish(attemptSubject(this.#ns, r.endpointId, r.eventId), encodeAttempt(r));
    } catch {
      // Connection closed: the delivery itself is settled separately and reports the failure.
    }
  }

  /** Publishes an operational event to the events stream, partitioned by its subject (the endpoint). */
  operational(event: CloudEvent): Promise<PubAck> {
    // No Sluice-Source header: no configured source produced it, and the bytes stay as they were.
    const m = eventMessage(this.#ns, event, event.subject ?? '', null);
    return this.#publish(m.subject, m.data, m.msgId);
  }

  /** Announces a delivery that spent its schedule (`sluice.delivery.exhausted`). */
  exhausted(ref: DeliveryRef, d: DeadLetterCause, nowMs: number): Promise<PubAck> {
    const data = {
      endpointId: ref.endpointId,
      eventId: ref.eventId,
      subscriptionId: ref.subscriptionId,
      reason: d.reason,
      attempts: d.attempts,
      status: d.status,
      error: d.error,
    };
    return this.operational(
      operationalEvent(OperationalEventTypes.deliveryExhausted, data, ref.deliveryMsgId, nowMs),
    );
  }

  /** Waits for outstanding publishes, then stops listening for acks. */
  async close(): Promise<void> {
    await this.#publisher.drain();
    await this.#publisher.close();
  }

  #send(m: DeliveryMessage): Promise<PubAck> {
    return this.#publish(m.subject, m.data, m.msgId, m.headers);
  }

  #publish(
    subject: string,
    data: Uint8Array,
    msgId: string,
    headers?: Record<string, string>,
  ): Promise<PubAck> {
    if (this.#publisher.failure) {
      // A publisher that timed out stays failed (AckWindowPublisher); its callers got the error.
      void this.#publisher.close();
      this.#publisher = new AckWindowPublisher(this.#nc, { window: this.#window });
    }
    try {
      return this.#publisher.publish(subject, data, msgId, headers);
    } catch (err) {
      return Promise.reject(err);
    }
  }
}
