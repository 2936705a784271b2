/**
 * Maps a partition key to a partition number: FNV-1a (32 bit) of the key's UTF-8 bytes, modulo the
 * partition count. Stable across processes and versions — changing it would reorder keys, so it is
 * part of the contract (docs/decisions/0002-partitioning.md).
 */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(key, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}
