import { decodeJson, encodeJson } from '@sluice/core';

/**
 * What every deliverer process shares about one endpoint, stored as JSON in the `sluice_endpoints` KV
 * bucket under the endpoint's id (decision 0007). Absent key = healthy and enabled.
 */
export interface EndpointHealth {
  /** Disabled at run time (after `disableAfterMs` of failure, on 410, or by `sluice endpoints disable`). */
  readonly disabled: boolean;
  /** Why: `failing`, `gone`, `manual`. */
  readonly disabledReason?: string;
  readonly disabledAtMs?: number;
  /** First failure since the last success, ms since the epoch. */
  readonly failingSinceMs?: number;
  /** The breaker is open until then (then half-open), ms since the epoch. */
  readonly openUntilMs?: number;
  /** The endpoint asked to be left alone (429/503 `Retry-After`) until then, ms since the epoch. */
  readonly throttledUntilMs?: number;
  readonly updatedAtMs: number;
}

/** The health of an endpoint nobody has written about. */
export const HEALTHY: EndpointHealth = Object.freeze({ disabled: false, updatedAtMs: 0 });

/** Encodes a health record for the KV bucket. */
export function encodeHealth(h: EndpointHealth): Uint8Array {
  return encodeJson(h);
}

/** Decodes a health record; a malformed value reads as {@link HEALTHY} (never blocks deliveries). */
export function decodeHealth(bytes: Uint8Array | undefined): EndpointHealth {
  if (bytes === undefined || bytes.length === 0) return HEALTHY;
  try {
    const v = decodeJson<Partial<EndpointHealth> | null>(bytes);
    return typeof v === 'object' && v !== null
      ? { ...HEALTHY, ...v, disabled: v.disabled === true }
      : HEALTHY;
  } catch {
    return HEALTHY;
  }
}
