import type { JsMsg } from '@nats-io/jetstream';

/**
 * What one delivery attempt came to. Expected results are values, not exceptions, and only plain
 * data, so that an outcome can cross a worker-thread boundary unchanged.
 */
export type Outcome =
  | { readonly kind: 'delivered'; readonly status: number; readonly latencyMs: number }
  | {
      readonly kind: 'retry';
      /** Wait before the next attempt, ms. */
      readonly delayMs: number;
      /** Stable reason: `http-status`, `timeout`, `network`, `endpoint-disabled`. */
      readonly reason: string;
      readonly status?: number;
      readonly error?: string;
      readonly excerpt?: string;
      readonly latencyMs?: number;
    }
  | { readonly kind: 'give-up'; readonly reason: string; readonly status?: number };

/** The JetStream action an outcome maps to. */
export type Settlement =
  | { readonly action: 'ack' }
  | { readonly action: 'nak'; readonly delayMs: number }
  | { readonly action: 'term' };

/** The one place that maps an outcome to what happens to the message. */
export function settlementOf(outcome: Outcome): Settlement {
  switch (outcome.kind) {
    case 'delivered':
      return { action: 'ack' };
    case 'retry':
      return { action: 'nak', delayMs: outcome.delayMs };
    case 'give-up':
      return { action: 'term' };
  }
}

/** Applies {@link settlementOf} to a JetStream message. */
export function settle(msg: JsMsg, outcome: Outcome): void {
  const s = settlementOf(outcome);
  switch (s.action) {
    case 'ack':
      msg.ack();
      return;
    case 'nak':
      msg.nak(s.delayMs);
      return;
    case 'term':
      msg.term();
      return;
  }
}
