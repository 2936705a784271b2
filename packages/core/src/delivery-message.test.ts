import { describe, expect, it } from 'vitest';
import {
  deadLetterMessage,
  deliveryId,
  readDeadLetter,
  readDelivery,
  readRetryDue,
  redrivenDelivery,
  requeuedDelivery,
  retryMessage,
  routedDelivery,
  type DeliveryMessage,
  type DeliveryRef,
} from './delivery-message.js';

const ns = { prefix: 'sluice' };
const data = Buffer.from('{"id":"evt_1"}', 'utf8');
const identity = { eventId: 'evt_1', subscriptionId: 'orders', endpointId: 'billing', partition: 3 };

/** What a reader sees of a written message: NATS headers read absent names as `''`. */
function stored(m: DeliveryMessage): { subject: string; headers: { get(name: string): string } } {
  return { subject: m.subject, headers: { get: (name) => m.headers[name] ?? '' } };
}

// Pinned: deliverers, the router and `sluice dlq` of different versions share these streams, and the
// Msg-Ids must stay the same for the duplicate window to collapse a repeated hop.
describe('delivery messages on the wire', () => {
  it('routed: the event on its endpoint subject, one Msg-Id per (event, subscription), no attempt', () => {
    expect(routedDelivery(ns, identity, data)).toEqual({
      subject: 'sluice.deliveries.billing.3',
      msgId: 'evt_1.orders',
      headers: { 'Sluice-Event-Id': 'evt_1', 'Sluice-Subscription': 'orders', 'Sluice-Endpoint': 'billing' },
      data,
    });
    expect(deliveryId('evt_1', 'crm')).not.toBe(deliveryId('evt_1', 'orders'));
  });

  const ref: DeliveryRef = { ...identity, attempt: 2, deliveryMsgId: 'evt_1.orders' };

  it('a waiting retry: the retries subject, the next attempt and when it is due', () => {
    expect(retryMessage(ns, ref, data, 3, 1_700_000_000_000)).toEqual({
      subject: 'sluice.retries.billing.3',
      msgId: 'evt_1.orders#3',
      headers: {
        'Sluice-Event-Id': 'evt_1',
        'Sluice-Subscription': 'orders',
        'Sluice-Endpoint': 'billing',
        'Sluice-Attempt': '3',
        'Sluice-Due': '1700000000000',
      },
      data,
    });
  });

  it('a requeued retry: back on the delivery subject with the Msg-Id of its retry', () => {
    expect(requeuedDelivery(ns, ref, data)).toEqual({
      subject: 'sluice.deliveries.billing.3',
      msgId: 'evt_1.orders#2',
      headers: {
        'Sluice-Event-Id': 'evt_1',
        'Sluice-Subscription': 'orders',
        'Sluice-Endpoint': 'billing',
        'Sluice-Attempt': '2',
      },
      data,
    });
  });

  it('a dead letter: reason, attempts and time, status or error only when known', () => {
    const cause = { reason: 'exhausted', attempts: 10, status: 503 };
    expect(deadLetterMessage(ns, ref, data, cause, 1_700_000_000_001)).toEqual({
      subject: 'sluice.dlq.billing.3',
      msgId: 'evt_1.orders#d2',
      headers: {
        'Sluice-Event-Id': 'evt_1',
        'Sluice-Subscription': 'orders',
        'Sluice-Endpoint': 'billing',
        'Sluice-Attempt': '10',
        'Sluice-Reason': 'exhausted',
        'Sluice-Failed-At': '1700000000001',
        'Sluice-Status': '503',
      },
      data,
    });
    const timedOut = deadLetterMessage(
      ns,
      ref,
      data,
      { reason: 'exhausted', attempts: 2, error: 'timeout' },
      5,
    );
    expect(timedOut.headers).toMatchObject({ 'Sluice-Error': 'timeout' });
    expect(timedOut.headers).not.toHaveProperty('Sluice-Status');
  });

  it('a redriven dead letter: attempt 1 again, its Msg-Id fixed by the DLQ sequence', () => {
    expect(redrivenDelivery(ns, identity, 42, data)).toEqual({
      subject: 'sluice.deliveries.billing.3',
      msgId: 'evt_1.orders#r42',
      headers: { 'Sluice-Event-Id': 'evt_1', 'Sluice-Subscription': 'orders', 'Sluice-Endpoint': 'billing' },
      data,
    });
  });
});

describe('reading delivery messages back', () => {
  it('reads what each writer wrote', () => {
    const routed = routedDelivery(ns, identity, data);
    expect(readDelivery(stored(routed))).toEqual({ ...identity, attempt: 1, deliveryMsgId: 'evt_1.orders' });
    const ref = readDelivery(stored(routed))!;
    const retry = retryMessage(ns, ref, data, 2, 1_234);
    expect(readDelivery(stored(retry))).toEqual({ ...ref, attempt: 2 });
    expect(readRetryDue(stored(retry).headers)).toBe(1_234);
    expect(readDelivery(stored(requeuedDelivery(ns, { ...ref, attempt: 2 }, data)))).toEqual({
      ...ref,
      attempt: 2,
    });
    const letter = deadLetterMessage(ns, ref, data, { reason: 'blocked', attempts: 1, error: 'blocked' }, 9);
    expect(readDeadLetter(stored(letter))).toEqual({
      ...identity,
      attempts: 1,
      reason: 'blocked',
      status: undefined,
      error: 'blocked',
      failedAtMs: 9,
    });
    expect(readDelivery(stored(redrivenDelivery(ns, identity, 7, data)))).toEqual(ref);
  });

  it('refuses a delivery without its identity, and reads a malformed attempt as 1', () => {
    const routed = stored(routedDelivery(ns, identity, data));
    expect(readDelivery({ subject: routed.subject })).toBeUndefined();
    expect(readDelivery({ ...routed, subject: 'sluice.deliveries.billing.x' })).toBeUndefined();
    const only = (name: string): { get(n: string): string } => ({
      get: (n) => (n === name ? '' : routed.headers.get(n)),
    });
    expect(readDelivery({ ...routed, headers: only('Sluice-Endpoint') })).toBeUndefined();
    for (const attempt of ['0', '-1', '1.5', 'two']) {
      const headers = { get: (n: string) => (n === 'Sluice-Attempt' ? attempt : routed.headers.get(n)) };
      expect(readDelivery({ ...routed, headers })?.attempt).toBe(1);
    }
  });

  it('reads a dead letter that is not whole, part by part', () => {
    expect(readDeadLetter({ subject: 'sluice.dlq.billing' })).toEqual({
      eventId: undefined,
      subscriptionId: undefined,
      endpointId: undefined,
      partition: undefined,
      attempts: undefined,
      reason: undefined,
      status: undefined,
      error: undefined,
      failedAtMs: undefined,
    });
    expect(readRetryDue(undefined)).toBeUndefined();
    expect(readRetryDue({ get: () => '' })).toBeUndefined();
    expect(readRetryDue({ get: () => 'soon' })).toBeUndefined();
  });
});
