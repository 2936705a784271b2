/**
 * Which partitions of SLUICE_EVENTS this router process works on. Today one router owns them all;
 * lease-based ownership with rebalancing (docs/decisions/0002-partitioning.md) replaces this function
 * without touching the router itself, which only ever asks for the set it owns.
 */
export interface PartitionOwnership {
  /** The partitions to consume now. */
  owned(): readonly number[];
}

/** Ownership of every partition `0 … partitions-1` by this process. */
export function ownAllPartitions(partitions: number): PartitionOwnership {
  const all = Object.freeze(Array.from({ length: partitions }, (_, i) => i));
  return { owned: () => all };
}
