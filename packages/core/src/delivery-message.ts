import {
  deliverySubject,
  dlqSubject,
  partitionFromDeliverySubject,
  retrySubject,
  type NameSpace,
} from './names.js';

// The messages of one delivery — one (event, subscription) pair — on the deliveries, retries and DLQ
// streams, written and read only through this module (docs/decisions/0007-delivery-engine.md):
// - subject `<prefix>.<deliveries | retries | dlq>.<endpoint>.<partition>`, the event's partition;
// - headers `Sluice-Event-Id`, `Sluice-Subscription`, `Sluice-Endpoint` on every one, `Sluice-Attempt`
//   from the second attempt on; a waiting retry adds `Sluice-Due`, a dead letter `Sluice-Reason`,
//   `Sluice-Failed-At` and, when known, `Sluice-Status` / `Sluice-Error`;
// - `Nats-Msg-Id` `<event id>.<subscription id>` when routed, then `#<attempt>` for a retry and for its
//   requeue, `#d<attempt>` for a dead letter, `#r<DLQ sequence>` for a redrive: each hop repeated after a
//   crash publishes the same id, and the stream's duplicate window collapses the repeat;
// - body the event's bytes as the events stream holds them, never re-encoded (the signature covers them).

/** Headers every delivery message carries besides `Nats-Msg-Id`. Written and read by this module. */
export const DeliveryHeaders = {
  eventId: 'Sluice-Event-Id',
  subscription: 'Sluice-Subscription',
  endpoint: 'Sluice-Endpoint',
  /** Number of the attempt this message is for, 1-based; absent means 1. On a dead letter: attempts made. */
  attempt: 'Sluice-Attempt',
  /** On a waiting retry: when it is due, ms since the epoch. */
  due: 'Sluice-Due',
  /** On a dead letter: why (`exhausted`, `non-retryable-status`, `unknown-endpoint`). */
  reason: 'Sluice-Reason',
  /** On a dead letter: the last HTTP status, when there was one. */
  status: 'Sluice-Status',
  /** On a dead letter: the last error code (`timeout`, `network`), when there was one. */
  error: 'Sluice-Error',
  /** On a dead letter: when it was dead-lettered, ms since the epoch. */
  failedAt: 'Sluice-Failed-At',
} as const;

/** The deterministic `Nats-Msg-Id` of one delivery: one per (event, subscription). */
export function deliveryId(eventId: string, subscriptionId: string): string {
  return `${eventId}.${subscriptionId}`;
}

/**
 * `Nats-Msg-Id` of a delivery put back on its endpoint's subject for attempt `attempt` (decision 0007):
 * `<delivery id>#<attempt>`. Distinct per attempt, stable across a crash between publish and ack.
 */
export function retryMsgId(deliveryMsgId: string, attempt: number): string {
  return `${deliveryMsgId}#${attempt}`;
}

/** `Nats-Msg-Id` of a dead letter redriven from DLQ sequence `dlqSeq`: `<delivery id>#r<seq>`. */
export function redriveMsgId(deliveryMsgId: string, dlqSeq: number): string {
  return `${deliveryMsgId}#r${dlqSeq}`;
}

/** Which delivery a message is about: the same in every message of it. */
export interface DeliveryIdentity {
  readonly eventId: string;
  readonly subscriptionId: string;
  readonly endpointId: string;
  /** The event's partition, the last token of every subject of the delivery. */
  readonly partition: number;
}

/** A delivery or retry message read back: which delivery, and which attempt it is for. */
export interface DeliveryRef extends DeliveryIdentity {
  /** 1-based attempt this message is for. */
  readonly attempt: number;
  /** `Nats-Msg-Id` of the routed delivery: `<event id>.<subscription id>`. */
  readonly deliveryMsgId: string;
}

/** Why a delivery was dead-lettered, as its DLQ message says. */
export interface DeadLetterCause {
  /** `exhausted`, `non-retryable-status`, `blocked`, `unknown-endpoint`. */
  readonly reason: string;
  /** Attempts made. */
  readonly attempts: number;
  readonly status?: number;
  readonly error?: string;
}

/** One message of a delivery, ready to publish. */
export interface DeliveryMessage {
  readonly subject: string;
  readonly msgId: string;
  /** The headers besides `Nats-Msg-Id` ({@link DeliveryHeaders}), in the order written. */
  readonly headers: Record<string, string>;
  /** The event, as the events stream holds it. */
  readonly data: Uint8Array;
}

/** The part of a message's headers a reader needs: NATS `MsgHdrs` fits, absent names read as `''`. */
type Headers = { get(name: string): string } | undefined;

/** The delivery the router writes for an event and one subscription: attempt 1. */
export function routedDelivery(ns: NameSpace, d: DeliveryIdentity, data: Uint8Array): DeliveryMessage {
  return {
    subject: deliverySubject(ns, d.endpointId, d.partition),
    msgId: deliveryId(d.eventId, d.subscriptionId),
    headers: identity(d),
    data,
  };
}

/** A failed delivery waiting on the retries stream for attempt `attempt`, due at `dueMs`. */
export function retryMessage(
  ns: NameSpace,
  ref: DeliveryRef,
  data: Uint8Array,
  attempt: number,
  dueMs: number,
): DeliveryMessage {
  return {
    subject: retrySubject(ns, ref.endpointId, ref.partition),
    msgId: retryMsgId(ref.deliveryMsgId, attempt),
    headers: {
      ...identity(ref),
      [DeliveryHeaders.attempt]: String(attempt),
      [DeliveryHeaders.due]: String(dueMs),
    },
    data,
  };
}

/** A due retry (read with {@link readDelivery}) back on its endpoint's delivery subject, for `ref.attempt`. */
export function requeuedDelivery(ns: NameSpace, ref: DeliveryRef, data: Uint8Array): DeliveryMessage {
  return {
    subject: deliverySubject(ns, ref.endpointId, ref.partition),
    msgId: retryMsgId(ref.deliveryMsgId, ref.attempt),
    headers: { ...identity(ref), [DeliveryHeaders.attempt]: String(ref.attempt) },
    data,
  };
}

/** A delivery moved to the DLQ at `failedAtMs` after attempt `ref.attempt`. */
export function deadLetterMessage(
  ns: NameSpace,
  ref: DeliveryRef,
  data: Uint8Array,
  cause: DeadLetterCause,
  failedAtMs: number,
): DeliveryMessage {
  const headers: Record<string, string> = {
    ...identity(ref),
    [DeliveryHeaders.attempt]: String(cause.attempts),
    [DeliveryHeaders.reason]: cause.reason,
    [DeliveryHeaders.failedAt]: String(failedAtMs),
  };
  if (cause.status !== undefined) headers[DeliveryHeaders.status] = String(cause.status);
  if (cause.error !== undefined) headers[DeliveryHeaders.error] = cause.error;
  return {
    subject: dlqSubject(ns, ref.endpointId, ref.partition),
    msgId: `${ref.deliveryMsgId}#d${ref.attempt}`,
    headers,
    data,
  };
}

/**
 * A dead letter put back on its endpoint's delivery subject as attempt 1 (no `Sluice-Attempt`), its
 * Msg-Id fixed by its DLQ sequence so that a redrive run again stores nothing twice.
 */
export function redrivenDelivery(
  ns: NameSpace,
  d: DeliveryIdentity,
  dlqSeq: number,
  data: Uint8Array,
): DeliveryMessage {
  return {
    subject: deliverySubject(ns, d.endpointId, d.partition),
    msgId: redriveMsgId(deliveryId(d.eventId, d.subscriptionId), dlqSeq),
    headers: identity(d),
    data,
  };
}

/**
 * Reads which delivery and attempt a message of the deliveries, retries or DLQ stream is about;
 * `undefined` when it lacks the headers every sluice-written delivery has. A missing or malformed
 * attempt reads as 1.
 */
export function readDelivery(m: {
  readonly subject: string;
  readonly headers?: Headers;
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

/** When a waiting retry is due, ms since the epoch; `undefined` when the header is missing or malformed. */
export function readRetryDue(headers: Headers): number | undefined {
  return numberOf(headers?.get(DeliveryHeaders.due));
}

/** What a DLQ message says about itself; each part `undefined` when missing or malformed. */
export interface StoredDeadLetter {
  readonly eventId: string | undefined;
  readonly subscriptionId: string | undefined;
  readonly endpointId: string | undefined;
  readonly partition: number | undefined;
  /** Attempts made before it was dead-lettered. */
  readonly attempts: number | undefined;
  readonly reason: string | undefined;
  readonly status: number | undefined;
  readonly error: string | undefined;
  /** When it was dead-lettered, ms since the epoch (the deliverer's clock). */
  readonly failedAtMs: number | undefined;
}

/**
 * Reads back what {@link deadLetterMessage} wrote, tolerating anything missing: a dead letter is shown
 * and redriven by operators even when it is not whole.
 */
export function readDeadLetter(m: {
  readonly subject: string;
  readonly headers?: Headers;
}): StoredDeadLetter {
  const get = (name: string): string | undefined => m.headers?.get(name) || undefined;
  return {
    eventId: get(DeliveryHeaders.eventId),
    subscriptionId: get(DeliveryHeaders.subscription),
    endpointId: get(DeliveryHeaders.endpoint),
    partition: partitionFromDeliverySubject(m.subject),
    attempts: numberOf(get(DeliveryHeaders.attempt)),
    reason: get(DeliveryHeaders.reason),
    status: numberOf(get(DeliveryHeaders.status)),
    error: get(DeliveryHeaders.error),
    failedAtMs: numberOf(get(DeliveryHeaders.failedAt)),
  };
}

function identity(d: DeliveryIdentity): Record<string, string> {
  return {
    [DeliveryHeaders.eventId]: d.eventId,
    [DeliveryHeaders.subscription]: d.subscriptionId,
    [DeliveryHeaders.endpoint]: d.endpointId,
  };
}

function numberOf(text: string | undefined): number | undefined {
  const n = text === undefined || text === '' ? Number.NaN : Number(text);
  return Number.isFinite(n) ? n : undefined;
}
