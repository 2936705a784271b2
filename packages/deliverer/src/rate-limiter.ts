import type { KV } from '@nats-io/kv';

/** What {@link RateLimiter.take} granted. */
export interface Grant {
  /** Tokens granted now, 0 when this second's are spent. */
  readonly granted: number;
  /** When more may be available (the next second), ms since the epoch. */
  readonly retryAtMs: number;
}

const CAS_ATTEMPTS = 8;

/**
 * A requests-per-second limit that holds across every deliverer process: each second of each endpoint
 * is one KV key counting the tokens taken in it, raised with compare-and-set (decision 0007). Keys are
 * never deleted one by one; the bucket's max age removes them (nats-server 2.9 ignores per-key TTLs).
 */
export class RateLimiter {
  readonly #kv: KV;

  constructor(kv: KV) {
    this.#kv = kv;
  }

  /** Takes up to `want` of this second's `perSecond` tokens for `endpointId`. */
  async take(endpointId: string, want: number, perSecond: number, nowMs: number): Promise<Grant> {
    const second = Math.floor(nowMs / 1000);
    const retryAtMs = (second + 1) * 1000;
    const key = `${endpointId}.${second}`;
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const entry = await this.#kv.get(key);
      const used = entry && entry.operation === 'PUT' ? Number(entry.string()) || 0 : 0;
      const granted = Math.max(0, Math.min(want, perSecond - used));
      if (granted === 0) return { granted, retryAtMs };
      try {
        const value = String(used + granted);
        if (entry) await this.#kv.update(key, value, entry.revision);
        else await this.#kv.create(key, value);
        return { granted, retryAtMs };
      } catch {
        // Another process took tokens of this second in between: count again.
      }
    }
    // Heavy contention on one key: take nothing now rather than risk exceeding the limit.
    return { granted: 0, retryAtMs: nowMs + 50 };
  }
}
