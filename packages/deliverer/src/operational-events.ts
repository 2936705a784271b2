import { operationalEventId, type CloudEvent } from '@sluice/core';

/** Types of the events the delivery engine publishes about itself, routable like any other event. */
export const OperationalEventTypes = {
  /** An endpoint was disabled: failing for `disableAfterMs`, or it answered 410 Gone. */
  endpointDisabled: 'sluice.endpoint.disabled',
  /** An endpoint whose breaker had opened answered successfully again. */
  endpointRecovered: 'sluice.endpoint.recovered',
  /** A delivery spent its retry schedule and was dead-lettered. */
  deliveryExhausted: 'sluice.delivery.exhausted',
} as const;

/** `data` of an operational event. */
export interface OperationalData {
  readonly endpointId: string;
  readonly reason?: string;
  /** Since when the endpoint had been failing, RFC 3339. */
  readonly failingSince?: string;
  /** For `sluice.delivery.exhausted`: the delivery. */
  readonly eventId?: string;
  readonly subscriptionId?: string;
  readonly attempts?: number;
  readonly status?: number;
  readonly error?: string;
}

/**
 * Builds an operational event. `stamp` makes the transition distinct (e.g. when the unhealthy stretch
 * began): processes reporting the same transition produce the same id, and the stream keeps one.
 */
export function operationalEvent(
  type: string,
  data: OperationalData,
  stamp: string,
  nowMs: number,
): CloudEvent<OperationalData> {
  return {
    specversion: '1.0',
    id: operationalEventId(type, data.endpointId, stamp),
    source: '/sluice/deliverer',
    type,
    subject: data.endpointId,
    time: new Date(nowMs).toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}
