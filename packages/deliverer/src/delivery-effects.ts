import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckWindowPublisher,
  DeliveryHeaders,
  attemptSubject,
  deliveryId,
  deliverySubject,
  dlqSubject,
  encodeEvent,
  eventSubject,
  partitionFromDeliverySubject,
  partitionOf,
  retryMsgId,
  retrySubject,
  type CloudEvent,
  type NatsConfig,
  type PubAck,
} from '@sluice/core';
import { encodeAttempt, type AttemptRecord } from './attempt-record.js';
import { OperationalEventTypes, operationalEvent } from './operational-events.js';

/** The identity of one delivery message, read once from its headers and subject. */
export interface DeliveryRef {
  readonly eventId: string;
  readonly subscriptionId: string;
  readonly endpointId: string;
  readonly partition: number;
  /** 1-based attempt this message is for. */
  readonly attempt: number;
  /** `Nats-Msg-Id` of the original delivery: `<event id>.<subscription id>`. */
  readonly deliveryMsgId: string;
}

/** Detail of a dead letter. */
export interface DeadLetter {
  readonly reason: string;
  readonly attempts: number;
  readonly status?: number;
  readonly error?: string;
}

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
    return this.#publish(
      retrySubject(this.#ns, ref.endpointId, ref.partition),
      body,
      retryMsgId(ref.deliveryMsgId, attempt),
      { ...identity(ref), [DeliveryHeaders.attempt]: String(attempt), [DeliveryHeaders.due]: String(dueMs) },
    );
  }

  /** Puts a due retry back on its endpoint's delivery subject, for attempt `ref.attempt`. */
  requeue(ref: DeliveryRef, body: Uint8Array): Promise<PubAck> {
    return this.#publish(
      deliverySubject(this.#ns, ref.endpointId, ref.partition),
      body,
      retryMsgId(ref.deliveryMsgId, ref.attempt),
      { ...identity(ref), [DeliveryHeaders.attempt]: String(ref.attempt) },
    );
  }

  /** Stores a delivery in the DLQ. */
  deadLetter(ref: DeliveryRef, body: Uint8Array, d: DeadLetter, nowMs: number): Promise<PubAck> {
    const headers: Record<string, string> = {
      ...identity(ref),
      [DeliveryHeaders.attempt]: String(d.attempts),
      [DeliveryHeaders.reason]: d.reason,
      [DeliveryHeaders.failedAt]: String(nowMs),
    };
    if (d.status !== undefined) headers[DeliveryHeaders.status] = String(d.status);
    if (d.error !== undefined) headers[DeliveryHeaders.error] = d.error;
    return this.#publish(
      dlqSubject(this.#ns, ref.endpointId, ref.partition),
      body,
      `${ref.deliveryMsgId}#d${ref.attempt}`,
      headers,
    );
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
    const partition = partitionOf(event.subject ?? '', this.#ns.partitions);
    return this.#publish(eventSubject(this.#ns, partition, event.type), encodeEvent(event), event.id);
  }

  /** Announces a delivery that spent its schedule (`sluice.delivery.exhausted`). */
  exhausted(ref: DeliveryRef, d: DeadLetter, nowMs: number): Promise<PubAck> {
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

/**
 * Reads a delivery's identity from a message of the deliveries, retries or DLQ stream; `undefined`
 * when it lacks the headers every sluice-written delivery has.
 */
export function deliveryRef(m: {
  readonly subject: string;
  readonly headers?: { get(k: string): string };
}): DeliveryRef | undefined {
  const h = m.headers;
  const eventId = h?.get(DeliveryHeaders.eventId);
  const subscriptionId = h?.get(DeliveryHeaders.subscription);
  const endpointId = h?.get(DeliveryHeaders.endpoint);
  const partition = partitionFromDeliverySubject(m.subject);
  if (!eventId || !subscriptionId || !endpointId || partition === undefined) return undefined;
  const attempt = Number(h?.get(DeliveryHeaders.attempt) || '1');
  return {
    eventId,
    subscriptionId,
    endpointId,
    partition,
    attempt: Number.isInteger(attempt) && attempt >= 1 ? attempt : 1,
    deliveryMsgId: deliveryId(eventId, subscriptionId),
  };
}

function identity(ref: DeliveryRef): Record<string, string> {
  return {
    [DeliveryHeaders.eventId]: ref.eventId,
    [DeliveryHeaders.subscription]: ref.subscriptionId,
    [DeliveryHeaders.endpoint]: ref.endpointId,
  };
}
