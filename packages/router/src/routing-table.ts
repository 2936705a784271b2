import {
  compileTypePattern,
  type EndpointConfig,
  type SubscriptionConfig,
  type TypeMatcher,
} from '@sluice/core';

/** One delivery to create for an event. */
export interface RouteTarget {
  readonly subscriptionId: string;
  readonly endpointId: string;
}

const NONE: readonly RouteTarget[] = Object.freeze([]);

/**
 * The subscriptions compiled for matching. Results are cached per event type: a deployment sees a
 * small set of types (tables × operations), so the cache stays small; it is cleared past `maxCached`
 * so that a producer inventing types cannot grow it without bound.
 */
export class RoutingTable {
  readonly #subs: { id: string; endpointId: string; matchers: TypeMatcher[] }[];
  readonly #cache = new Map<string, readonly RouteTarget[]>();
  readonly #maxCached: number;

  constructor(
    subscriptions: readonly SubscriptionConfig[],
    endpoints: readonly EndpointConfig[],
    maxCached = 10_000,
  ) {
    const enabled = new Set(endpoints.filter((e) => e.enabled).map((e) => e.id));
    this.#subs = subscriptions
      .filter((s) => enabled.has(s.endpoint))
      .map((s) => ({ id: s.id, endpointId: s.endpoint, matchers: s.types.map(compileTypePattern) }));
    this.#maxCached = maxCached;
  }

  /** Every (subscription, endpoint) whose patterns match `type`, in configuration order. */
  match(type: string): readonly RouteTarget[] {
    const hit = this.#cache.get(type);
    if (hit) return hit;
    const out: RouteTarget[] = [];
    for (const s of this.#subs) {
      if (s.matchers.some((m) => m.matches(type)))
        out.push({ subscriptionId: s.id, endpointId: s.endpointId });
    }
    const result = out.length === 0 ? NONE : Object.freeze(out);
    if (this.#cache.size >= this.#maxCached) this.#cache.clear();
    this.#cache.set(type, result);
    return result;
  }
}
