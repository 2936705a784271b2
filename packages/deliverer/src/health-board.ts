import { KvWatchInclude, type KV } from '@nats-io/kv';
import type { Logger } from '@sluice/core';
import { HEALTHY, decodeHealth, encodeHealth, type EndpointHealth } from './endpoint-health.js';

const CAS_ATTEMPTS = 5;

/**
 * Every process's shared view of endpoint health: a watch on the `sluice_endpoints` KV bucket keeps a
 * local copy, and {@link update} writes with compare-and-set so that concurrent writers from several
 * deliverer processes merge instead of overwriting each other (decision 0007).
 */
export class HealthBoard {
  readonly #kv: KV;
  readonly #log: Logger;
  // With the KV revision it was read at: the order of writes. `updatedAtMs` cannot order them — it
  // is each writer's wall clock, and a record written on a host whose clock is behind (an operator's
  // `sluice endpoints enable`) was ignored by every deliverer.
  readonly #health = new Map<string, { readonly h: EndpointHealth; readonly revision: number }>();
  readonly #listeners = new Set<(endpointId: string, h: EndpointHealth) => void>();
  #stop: (() => void) | undefined;

  constructor(kv: KV, logger: Logger) {
    this.#kv = kv;
    this.#log = logger;
  }

  /** Follows changes, then loads every key; resolves once the current values are in. */
  async start(): Promise<void> {
    // Watch first, load second: a change made in between is seen by at least one of the two, and
    // the revision keeps an older value from replacing a newer one.
    const watch = await this.#kv.watch({ include: KvWatchInclude.UpdatesOnly });
    this.#stop = () => watch.stop();
    void (async () => {
      for await (const e of watch)
        this.#apply(e.key, e.operation === 'PUT' ? decodeHealth(e.value) : HEALTHY, e.revision);
    })().catch((err: unknown) => this.#log.warn({ err }, 'endpoint health watch ended'));
    const keys: string[] = [];
    for await (const k of await this.#kv.keys()) keys.push(k);
    for (const k of keys) {
      const e = await this.#kv.get(k);
      if (e?.operation === 'PUT') this.#apply(k, decodeHealth(e.value), e.revision);
    }
  }

  stop(): void {
    this.#stop?.();
    this.#listeners.clear();
  }

  /** The last known health of an endpoint. */
  get(endpointId: string): EndpointHealth {
    return this.#health.get(endpointId)?.h ?? HEALTHY;
  }

  /** Calls `fn` on every change, from this or another process. */
  onChange(fn: (endpointId: string, h: EndpointHealth) => void): void {
    this.#listeners.add(fn);
  }

  /**
   * Applies `change` to the stored health with compare-and-set, re-reading on conflict. `change`
   * returns `undefined` to leave it as it is. Resolves to what is stored afterwards.
   */
  async update(
    endpointId: string,
    change: (h: EndpointHealth) => EndpointHealth | undefined,
  ): Promise<EndpointHealth> {
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const entry = await this.#kv.get(endpointId);
      const current = entry && entry.operation === 'PUT' ? decodeHealth(entry.value) : HEALTHY;
      const next = change(current);
      if (next === undefined) return current;
      try {
        const revision = entry
          ? await this.#kv.update(endpointId, encodeHealth(next), entry.revision)
          : await this.#kv.create(endpointId, encodeHealth(next));
        this.#apply(endpointId, next, revision);
        return next;
      } catch (err) {
        // Someone else wrote in between: read again and re-apply the change to their value.
        this.#log.debug({ err, endpointId }, 'endpoint health changed concurrently; retrying');
      }
    }
    this.#log.warn({ endpointId }, 'endpoint health not written: too many concurrent writers');
    return this.get(endpointId);
  }

  #apply(endpointId: string, h: EndpointHealth, revision: number): void {
    const before = this.#health.get(endpointId);
    if (before && before.revision >= revision) return;
    this.#health.set(endpointId, { h, revision });
    for (const fn of this.#listeners) fn(endpointId, h);
  }
}
