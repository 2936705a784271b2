import { channel } from 'node:diagnostics_channel';

/**
 * Named `diagnostics_channel`s of the delivery engine: metrics and custom logging subscribe here, and
 * nothing is built for them while no one does (the hot path checks `hasSubscribers` first).
 */
export const DiagnosticsChannels = {
  /** Every attempt, as its `AttemptRecord` (the same JSON as on `SLUICE_ATTEMPTS`). */
  attempt: 'sluice:delivery:attempt',
  /** An endpoint's breaker or health changed: `{ endpointId, state, reason? }`. */
  endpointState: 'sluice:endpoint:state',
} as const;

/** The attempt channel. */
export const attemptChannel = channel(DiagnosticsChannels.attempt);

/** The endpoint state channel. */
export const endpointStateChannel = channel(DiagnosticsChannels.endpointState);

/** What {@link endpointStateChannel} carries. */
export interface EndpointStateMessage {
  readonly endpointId: string;
  /** `open`, `closed` (recovered), `throttled`, `disabled`. */
  readonly state: string;
  readonly reason?: string;
  /** When an open breaker or a throttle ends, ms since the epoch. */
  readonly untilMs?: number;
}
