import { describe, expect, it } from 'vitest';
import { cdcEventId, ingestEventId, type CdcPosition } from './event-id.js';

// Pinned: the ids of already-captured events must not change across versions (a change would defeat
// Msg-Id dedupe on re-capture and the receivers' webhook-id dedupe).
const goldenCdc = 'evt_ba464c9a3c27d279e871f7f107f91c0e';
const goldenIngest = 'evt_3adb3ba779b7ff580dd227501106fa7e';

const pos: CdcPosition = { sourceId: 'shop', transaction: '0-1-42', rowIndex: 0 };
const ID = /^evt_[0-9a-f]{32}$/;

describe('cdcEventId', () => {
  it('is evt_ + 32 lowercase hex (128 bits)', () => {
    expect(cdcEventId(pos)).toMatch(ID);
  });

  it('is deterministic: re-capturing the same row yields the same id', () => {
    expect(cdcEventId(pos)).toBe(cdcEventId({ ...pos }));
  });

  it('pins the derivation (changing it re-emits every event under a new id)', () => {
    // First 128 bits of sha256 over "cdc", "shop", "0-1-42", "0", each followed by NUL; see docs/decisions/0001-event-identity.md.
    expect(cdcEventId(pos)).toBe(goldenCdc);
  });

  it('differs for different transactions, row indexes and sources', () => {
    const ids = [
      cdcEventId(pos),
      cdcEventId({ ...pos, rowIndex: 1 }),
      cdcEventId({ ...pos, rowIndex: 10 }),
      cdcEventId({ ...pos, transaction: '0-1-43' }),
      cdcEventId({ ...pos, transaction: '0-2-42' }),
      cdcEventId({ ...pos, transaction: 'mysql-bin.000003:4711' }),
      cdcEventId({ ...pos, transaction: '3e11fa47-71ca-11e1-9e33-c80aa9429562:42' }),
      cdcEventId({ ...pos, sourceId: 'billing' }),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('does not collide when parts shift between fields', () => {
    // "shop" + "1-42" vs "shop1" + "-42": a plain concatenation would give the same digest input.
    expect(cdcEventId({ sourceId: 'shop', transaction: '1-42', rowIndex: 0 })).not.toBe(
      cdcEventId({ sourceId: 'shop1', transaction: '-42', rowIndex: 0 }),
    );
    expect(cdcEventId({ sourceId: 's', transaction: 't1', rowIndex: 1 })).not.toBe(
      cdcEventId({ sourceId: 's', transaction: 't', rowIndex: 11 }),
    );
  });

  it('gives distinct ids to every row of many transactions', () => {
    const ids = new Set<string>();
    for (let tx = 0; tx < 200; tx++)
      for (let row = 0; row < 50; row++)
        ids.add(cdcEventId({ sourceId: 'shop', transaction: `0-1-${tx}`, rowIndex: row }));
    expect(ids.size).toBe(200 * 50);
  });
});

describe('ingestEventId', () => {
  it('is evt_ + 32 hex, deterministic per (source, idempotency key)', () => {
    const id = ingestEventId('/orders-service', 'order-1001-created');
    expect(id).toMatch(ID);
    expect(id).toBe(goldenIngest);
    expect(ingestEventId('/orders-service', 'order-1001-created')).toBe(id);
    expect(ingestEventId('/orders-service', 'order-1001-updated')).not.toBe(id);
    expect(ingestEventId('/billing-service', 'order-1001-created')).not.toBe(id);
  });

  it('never equals a CDC id for look-alike inputs', () => {
    expect(ingestEventId('shop', '0-1-42')).not.toBe(cdcEventId(pos));
  });
});
