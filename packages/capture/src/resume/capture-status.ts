import type { KV } from '@nats-io/kv';
import { leaseKey, type LeaseRecord } from './capture-lease.js';
import { loadCheckpoint, type Checkpoint } from './checkpoint-store.js';

/** What the cluster's KV says of one source's capture, for `sluice status`. */
export interface CaptureStatus {
  readonly sourceId: string;
  /** The durable position capture resumes from; undefined before its first start wrote one. */
  readonly checkpoint: Checkpoint | undefined;
  /** The lease, when a capturer holds one that has not expired by its own clock. */
  readonly lease: LeaseRecord | undefined;
  /**
   * True when a capturer holds the lease and a checkpoint exists: every row committed from now on is
   * captured, even across a crash, because capture resumes from the checkpoint.
   */
  readonly ready: boolean;
  /** The checkpoint as text: `0-1-42 (bin.000001:1234)` or `bin.000001:1234`. */
  readonly position: string | undefined;
}

/** Reads a source's checkpoint and lease. */
export async function readCaptureStatus(
  checkpoints: KV,
  leases: KV,
  sourceId: string,
  nowMs: number,
): Promise<CaptureStatus> {
  const checkpoint = await loadCheckpoint(checkpoints, sourceId);
  const entry = await leases.get(leaseKey(sourceId));
  let lease: LeaseRecord | undefined;
  if (entry !== null && entry.operation === 'PUT' && entry.value.length > 0) {
    const held = entry.json<LeaseRecord>();
    if (held.expiresAtMs > nowMs) lease = held;
  }
  return {
    sourceId,
    checkpoint,
    lease,
    ready: checkpoint !== undefined && lease !== undefined,
    position: checkpoint === undefined ? undefined : positionText(checkpoint),
  };
}

/** A binlog position as people read it: `0-1-42 (bin.000001:1234)`, or `bin.000001:1234` without GTID. */
export function positionText(p: {
  readonly gtid?: string;
  readonly file: string;
  readonly pos: number;
}): string {
  const filePos = `${p.file}:${p.pos}`;
  return p.gtid !== undefined && p.gtid !== '' ? `${p.gtid} (${filePos})` : filePos;
}
