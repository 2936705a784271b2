import type { HttpResult } from './http-dispatch.js';
import type { DeliveryRequest, DeliveryTarget } from './delivery-sender.js';
import type { SigningKeys } from './signature.js';

/**
 * The wire format between the main thread and a delivery worker: plain data only, because structured
 * clone drops classes and custom properties (piscina #141). One task carries a whole batch.
 */

/** Settings a worker gets once, at start (Piscina `workerData`). */
export interface WorkerSettings {
  readonly connectionsPerOrigin: number;
  readonly excerptBytes: number;
  /** DNS servers of the network guard; unset: the system resolver. */
  readonly dnsServers?: readonly string[];
}

/** One batch of deliveries for a worker. */
export interface PoolTask {
  /** Each endpoint in the batch once; items refer to it by index. */
  readonly targets: readonly DeliveryTarget[];
  /**
   * Every body back to back in one buffer of its own, moved to the worker (transferred, not cloned):
   * one copy on the main thread instead of a clone per body. Message bodies cannot be transferred
   * themselves — they are views into buffers the NATS client still owns.
   */
  readonly bodies: ArrayBuffer;
  /** Per delivery: target index, event id, timestamp (s), body offset and length in `bodies`. */
  readonly items: readonly (readonly [number, string, number, number, number])[];
}

/** Packs requests into one task; `bodies` must be transferred with it. */
export function packTask(requests: readonly DeliveryRequest[]): PoolTask {
  const targets: DeliveryTarget[] = [];
  const index = new Map<DeliveryTarget, number>();
  let total = 0;
  for (const r of requests) total += r.body.byteLength;
  // A fresh Uint8Array owns its ArrayBuffer; Buffer.allocUnsafe could hand out a shared pool slab.
  const bodies = new Uint8Array(total);
  const items: [number, string, number, number, number][] = [];
  let offset = 0;
  for (const r of requests) {
    let t = index.get(r.target);
    if (t === undefined) {
      t = targets.push(plainTarget(r.target)) - 1;
      index.set(r.target, t);
    }
    bodies.set(r.body, offset);
    items.push([t, r.eventId, r.timestampSec, offset, r.body.byteLength]);
    offset += r.body.byteLength;
  }
  return { targets, bodies: bodies.buffer, items };
}

/** The requests of a task, on the worker side; bodies are views into the transferred buffer. */
export function unpackTask(task: PoolTask): DeliveryRequest[] {
  return task.items.map(([t, eventId, timestampSec, offset, length]) => ({
    target: task.targets[t]!,
    eventId,
    timestampSec,
    body: new Uint8Array(task.bodies, offset, length),
  }));
}

/**
 * A result trimmed for the trip back: of the response headers only `retry-after` is ever read
 * (classify), and cloning the rest for every delivery would be paid for nothing.
 */
export function plainResult(r: HttpResult): HttpResult {
  if (!r.ok) return r;
  const retryAfter = r.headers['retry-after'];
  return { ...r, headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter } };
}

// The target's keys as they are now (they change on rotation), each copied into a buffer of its own:
// a small Buffer is often a view into Node's shared 8 KiB pool slab, and structured clone copies a
// view's whole underlying buffer. Only named fields are copied: a target may carry accessors.
function plainTarget(t: DeliveryTarget): DeliveryTarget {
  const { v1, v1a } = t.keys;
  const keys: SigningKeys = {
    v1: v1.map((k) => ({ ...expiry(k.expiresAtMs), key: new Uint8Array(k.key) })),
    v1a: v1a.map((k) => ({ ...expiry(k.expiresAtMs), seed: new Uint8Array(k.seed) })),
  };
  const { url, timeoutMs, connectTimeoutMs, headersTimeoutMs, allowNetworks } = t;
  return { url, keys, timeoutMs, connectTimeoutMs, headersTimeoutMs, allowNetworks };
}

function expiry(expiresAtMs: number | undefined): { expiresAtMs?: number } {
  return expiresAtMs === undefined ? {} : { expiresAtMs };
}
