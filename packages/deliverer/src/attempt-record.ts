import { decodeJson, encodeJson } from '@sluice/core';

/**
 * One delivery attempt as recorded on `SLUICE_ATTEMPTS` (subject `<prefix>.attempts.<endpoint>.<event
 * id>`), JSON-encoded. Never carries request headers, signatures or the body sent (I7 in
 * docs/architecture.md).
 */
export interface AttemptRecord {
  /** When the attempt started, ms since the epoch. */
  readonly at: number;
  readonly eventId: string;
  readonly subscriptionId: string;
  readonly endpointId: string;
  /** 1-based number of the attempt in the delivery's retry schedule. */
  readonly attempt: number;
  /** What came of it: `delivered`, `retry`, `dead-letter`, `throttled`, `gone`, `parked`. */
  readonly outcome: string;
  /** HTTP status, when a response arrived. */
  readonly status?: number;
  /** `timeout`, `network` or `blocked` (refused by the network policy, nothing sent) when no response arrived. */
  readonly error?: string;
  /** Round trip, ms. */
  readonly latencyMs?: number;
  /** First bytes of the response body (`deliverer.responseExcerptBytes`). */
  readonly excerpt?: string;
  /** When the next attempt is due, ms since the epoch (outcome `retry`). */
  readonly nextAt?: number;
}

/** Encodes a record for the attempts stream. */
export function encodeAttempt(r: AttemptRecord): Uint8Array {
  return encodeJson(r);
}

/** Decodes a record from the attempts stream; throws `SyntaxError` on malformed data. */
export function decodeAttempt(bytes: Uint8Array): AttemptRecord {
  return decodeJson<AttemptRecord>(bytes);
}
