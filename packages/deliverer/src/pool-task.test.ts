import { describe, expect, it } from 'vitest';
import type { DeliveryRequest, DeliveryTarget } from './delivery-sender.js';
import { packTask, plainResult, unpackTask } from './pool-task.js';

const billing: DeliveryTarget = {
  url: 'http://127.0.0.1:1/billing',
  keys: { v1: [{ key: Buffer.from('a'.repeat(32)) }], v1a: [{ seed: Buffer.alloc(32, 3), expiresAtMs: 5 }] },
  timeoutMs: 1000,
  connectTimeoutMs: 500,
  headersTimeoutMs: 800,
};
const audit: DeliveryTarget = {
  ...billing,
  url: 'http://127.0.0.1:1/audit',
  keys: { v1: [{ key: Buffer.from('b'.repeat(32)), expiresAtMs: 7 }], v1a: [] },
};

function request(target: DeliveryTarget, id: string, body: string): DeliveryRequest {
  // Bodies as views into a larger buffer, the way NATS message data arrives.
  const backing = Buffer.from(`xx${body}yy`);
  return {
    target,
    eventId: id,
    timestampSec: 1_700_000_000,
    body: backing.subarray(2, 2 + Buffer.byteLength(body)),
  };
}

describe('packTask / unpackTask', () => {
  const requests = [
    request(billing, 'e1', '{"a":1}'),
    request(audit, 'e2', '{"zoë":"🚀"}'),
    request(billing, 'e3', ''),
    request(billing, 'e4', '{"b":2}'),
  ];

  it('round-trips every request through structured clone, bodies byte for byte', () => {
    const task = packTask(requests);
    // What Piscina does to a task: clone it, moving the bodies buffer.
    const moved = structuredClone(task, { transfer: [task.bodies] });
    expect(task.bodies.byteLength).toBe(0); // detached: transferred, not copied
    const back = unpackTask(moved);
    expect(back.map((r) => r.eventId)).toEqual(['e1', 'e2', 'e3', 'e4']);
    back.forEach((r, i) => {
      expect(Buffer.from(r.body).equals(Buffer.from(requests[i]!.body))).toBe(true);
      expect(r.timestampSec).toBe(1_700_000_000);
      expect(r.target.url).toBe(requests[i]!.target.url);
      const sent = requests[i]!.target.keys;
      expect(r.target.keys.v1.map((k) => Buffer.from(k.key).toString('hex'))).toEqual(
        sent.v1.map((k) => Buffer.from(k.key).toString('hex')),
      );
      expect(r.target.keys.v1.map((k) => k.expiresAtMs)).toEqual(sent.v1.map((k) => k.expiresAtMs));
      expect(r.target.keys.v1a.map((k) => [Buffer.from(k.seed).toString('hex'), k.expiresAtMs])).toEqual(
        sent.v1a.map((k) => [Buffer.from(k.seed).toString('hex'), k.expiresAtMs]),
      );
    });
  });

  it('carries each endpoint once however many deliveries it has', () => {
    const task = packTask(requests);
    expect(task.targets.map((t) => t.url)).toEqual([billing.url, audit.url]);
    expect(task.items.map((i) => i[0])).toEqual([0, 1, 0, 0]);
  });

  it("reads a target's keys when packing: a rotation reaches the next task", () => {
    let keys: DeliveryTarget['keys'] = { v1: [{ key: Buffer.alloc(32, 1) }], v1a: [] };
    const live: DeliveryTarget = {
      ...billing,
      get keys() {
        return keys;
      },
    };
    const first = packTask([request(live, 'e1', '{}')]);
    keys = { v1: [{ key: Buffer.alloc(32, 2) }], v1a: [] };
    const second = packTask([request(live, 'e2', '{}')]);
    expect(Buffer.from(first.targets[0]!.keys.v1[0]!.key)).toEqual(Buffer.alloc(32, 1));
    expect(Buffer.from(second.targets[0]!.keys.v1[0]!.key)).toEqual(Buffer.alloc(32, 2));
    // Plain data only: structured clone refuses functions and accessors are not copied.
    expect(() => structuredClone(second)).not.toThrow();
  });

  it('packs bodies into a buffer of exactly their size, not the buffers they are views into', () => {
    const task = packTask(requests);
    expect(task.bodies.byteLength).toBe(requests.reduce((s, r) => s + r.body.byteLength, 0));
    for (const t of task.targets) {
      for (const k of t.keys.v1) expect(k.key.buffer.byteLength).toBe(32);
      for (const k of t.keys.v1a) expect(k.seed.buffer.byteLength).toBe(32);
    }
  });
});

describe('plainResult', () => {
  it('keeps only retry-after of the response headers', () => {
    const r = plainResult({
      ok: true,
      status: 429,
      headers: { 'retry-after': '3', 'set-cookie': ['x=1'], server: 'x' },
      excerpt: 'slow down',
      latencyMs: 1,
    });
    expect(r).toEqual({
      ok: true,
      status: 429,
      headers: { 'retry-after': '3' },
      excerpt: 'slow down',
      latencyMs: 1,
    });
    expect(
      plainResult({ ok: true, status: 204, headers: { server: 'x' }, excerpt: '', latencyMs: 1 }),
    ).toMatchObject({
      headers: {},
    });
  });

  it('passes failures through unchanged', () => {
    const failure = {
      ok: false,
      error: 'timeout',
      message: 'UND_ERR_HEADERS_TIMEOUT: x',
      latencyMs: 5,
    } as const;
    expect(plainResult(failure)).toBe(failure);
  });
});
