import { describe, expect, it } from 'vitest';
import {
  createLogger,
  decodeEvent,
  type AckWindowPublisher,
  type CloudEvent,
  type EventAddress,
  type PubAck,
} from '@sluice/core';
import { EventSender } from './event-sender.js';
import { HEADER_ALLOWANCE_BYTES, oversizeReference, type OversizeStore } from './oversize.js';

const MAX_PAYLOAD = 4096;
const event = (id: string, size: number): CloudEvent => ({
  specversion: '1.0',
  id,
  source: '/sluice/mysql/s',
  type: 'mysql.d.t.insert',
  subject: id,
  time: '2026-01-01T00:00:00.000Z',
  datacontenttype: 'application/json',
  data: { op: 'insert', database: 'd', table: 't', primaryKey: ['id'], after: { b: 'x'.repeat(size) } },
});

const addressed = (e: CloudEvent): [EventAddress, CloudEvent] => [
  { subject: 'subj', msgId: e.id, headers: {} },
  e,
];

/** A publisher that records what it was given and acknowledges at once. */
function fakePublisher(): { publisher: AckWindowPublisher; sent: CloudEvent[] } {
  const sent: CloudEvent[] = [];
  let seq = 0;
  const publisher = {
    publish(_subject: string, data: Uint8Array): Promise<PubAck> {
      sent.push(decodeEvent(data));
      return Promise.resolve({ stream: 'S', seq: ++seq, duplicate: false });
    },
  } as unknown as AckWindowPublisher;
  return { publisher, sent };
}

/** An object store whose puts wait for `release()` (or fail with `fail`). */
function fakeStore(fail?: Error) {
  const stored = new Map<string, number>();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const store = {
    bucket: 'x_oversize',
    async put(key: string, bytes: Uint8Array) {
      await gate;
      if (fail) throw fail;
      stored.set(key, bytes.byteLength);
      return { bytes: bytes.byteLength, bucket: 'x_oversize', key };
    },
  } as unknown as OversizeStore;
  return { store, stored, release };
}

function sender(publisher: AckWindowPublisher, store: OversizeStore) {
  const stalls: Promise<void>[] = [];
  let oversized = 0;
  const s = new EventSender({
    publisher,
    oversize: store,
    maxPayload: MAX_PAYLOAD,
    stall: (until) => stalls.push(until),
    logger: createLogger({ level: 'silent', pretty: false }),
    onOversize: () => oversized++,
  });
  return { s, stalls, oversized: () => oversized };
}

describe('EventSender', () => {
  it('publishes events that fit at once, leaving room for the headers', async () => {
    const { publisher, sent } = fakePublisher();
    const { store, stored } = fakeStore();
    const { s, stalls } = sender(publisher, store);
    await s.send(...addressed(event('a', 100)));
    expect(sent.map((e) => e.id)).toEqual(['a']);
    // Just under max_payload but without room for headers: offloaded, not handed to the server.
    void s.send(...addressed(event('b', MAX_PAYLOAD - HEADER_ALLOWANCE_BYTES / 2 - 250)));
    expect(stalls).toHaveLength(1);
    expect(sent).toHaveLength(1);
    expect(stored.size).toBe(0);
  });

  it('stores an oversized event, publishes its reference in order, and holds later events behind it', async () => {
    const { publisher, sent } = fakePublisher();
    const { store, stored, release } = fakeStore();
    const { s, stalls, oversized } = sender(publisher, store);
    const acks = [s.send(...addressed(event('small-1', 10))), s.send(...addressed(event('big', 10_000)))];
    acks.push(s.send(...addressed(event('small-2', 10))), s.send(...addressed(event('small-3', 10))));
    expect(sent.map((e) => e.id)).toEqual(['small-1']); // the rest waits for the store
    expect(stalls).toHaveLength(1);
    release();
    await Promise.all(acks);
    await s.idle();
    expect(sent.map((e) => e.id)).toEqual(['small-1', 'big', 'small-2', 'small-3']);
    expect(stored.get('big')).toBeGreaterThan(10_000);
    expect(sent[1]).toEqual(
      oversizeReference(event('big', 10_000), {
        bytes: stored.get('big')!,
        bucket: 'x_oversize',
        key: 'big',
      }),
    );
    expect(sent[1]!.data).toEqual({
      op: 'insert',
      database: 'd',
      table: 't',
      primaryKey: ['id'],
      sluiceoversize: { bytes: stored.get('big'), bucket: 'x_oversize', key: 'big' },
    });
    expect(oversized()).toBe(1);
    // Back to publishing directly.
    await s.send(...addressed(event('small-4', 10)));
    expect(sent.at(-1)!.id).toBe('small-4');
    expect(stalls).toHaveLength(1);
  });

  it('fails the oversized event and everything behind it when the store fails, publishing none of them', async () => {
    const { publisher, sent } = fakePublisher();
    const { store, release } = fakeStore(new Error('no space'));
    const { s, oversized } = sender(publisher, store);
    const big = s.send(...addressed(event('big', 10_000)));
    const after = s.send(...addressed(event('small', 10)));
    release();
    await expect(big).rejects.toThrow('no space');
    await expect(after).rejects.toThrow('no space');
    await s.idle();
    expect(sent).toEqual([]);
    expect(oversized()).toBe(0);
  });
});
