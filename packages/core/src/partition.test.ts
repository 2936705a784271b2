import { describe, expect, it } from 'vitest';
import { partitionOf } from './partition.js';

// partitionOf is part of the contract: changing it moves keys to other partitions and breaks per-key
// order across an upgrade (docs/decisions/0002-partitioning.md). These numbers are pinned on purpose.
describe('partitionOf', () => {
  it('is FNV-1a 32 of the UTF-8 bytes, modulo P (published FNV vectors as P = 2^32)', () => {
    // http://www.isthe.com/chongo/src/fnv/test_fnv.c: FNV-1a 32 of "" / "a" / "foobar".
    expect(partitionOf('', 2 ** 32)).toBe(0x811c9dc5);
    expect(partitionOf('a', 2 ** 32)).toBe(0xe40c292c);
    expect(partitionOf('foobar', 2 ** 32)).toBe(0xbf9cf968);
  });

  it.each([
    ['', 16, 5],
    ['a', 16, 12],
    ['foobar', 16, 8],
    ['42', 16, 3],
    ['order-1001', 16, 12],
    ['1,2', 16, 6],
    ['ключ', 16, 1],
    ['42', 32, 3],
    ['1,2', 1024, 774],
    ['ключ', 1024, 481],
  ])('pins partitionOf(%j, %i) = %i', (key, partitions, expected) => {
    expect(partitionOf(key, partitions)).toBe(expected);
  });

  it('stays within 0 … P-1 and spreads keys over every partition', () => {
    for (const partitions of [1, 2, 7, 16, 32, 1024]) {
      const seen = new Set<number>();
      const outside: number[] = [];
      for (let i = 0; i < 20_000; i++) {
        const p = partitionOf(`customer-${i}`, partitions);
        if (!Number.isInteger(p) || p < 0 || p >= partitions) outside.push(p);
        seen.add(p);
      }
      expect(outside).toEqual([]);
      expect(seen.size).toBe(partitions);
    }
  });

  it('is deterministic and depends on every byte', () => {
    expect(partitionOf('order-1001', 16)).toBe(partitionOf('order-1001', 16));
    expect(partitionOf('order-1001', 2 ** 32)).not.toBe(partitionOf('order-1002', 2 ** 32));
    // NFC and NFD spell "é" with different bytes: keys are bytes, not normalised text.
    expect(partitionOf('\u00e9', 2 ** 32)).not.toBe(partitionOf('e\u0301', 2 ** 32));
  });
});
