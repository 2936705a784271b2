import type { KV } from '@nats-io/kv';
import { SluiceError, type Logger } from '@sluice/core';
import type { BinlogPosition } from './transaction-tracker.js';

/**
 * A capture checkpoint as stored in the checkpoints KV bucket under the source id (JSON). It names a
 * transaction boundary every earlier event of which JetStream has acknowledged.
 */
export interface Checkpoint {
  /** MariaDB GTID position (or MySQL GTID set) to resume with `start({ gtidSet })`; preferred when present. */
  readonly gtid?: string;
  /** Binlog file of the boundary. */
  readonly file: string;
  /** Offset just after the boundary transaction's commit event. */
  readonly pos: number;
  /** `@@server_id` of the server the position was read from: `file`/`pos` mean nothing on another server. */
  readonly serverId?: number;
  /** RFC 3339 time of the write. */
  readonly updatedAt: string;
}

/** Where a binlog session starts reading: a GTID position, a file/pos, or the current end. */
export type StartPoint =
  | { readonly gtidSet: string }
  | { readonly filename: string; readonly position: number }
  | { readonly startAtEnd: true };

const encoder = new TextEncoder();

/** Reads a stored checkpoint, or `undefined` when the source has none yet. */
export async function loadCheckpoint(kv: KV, sourceId: string): Promise<Checkpoint | undefined> {
  const entry = await kv.get(sourceId);
  if (entry === null || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
  let parsed: Partial<Checkpoint>;
  try {
    parsed = entry.json<Partial<Checkpoint>>();
  } catch (cause) {
    throw corrupt(sourceId, 'is not JSON', cause);
  }
  const validGtid = parsed.gtid === undefined || typeof parsed.gtid === 'string';
  if (
    typeof parsed.file !== 'string' ||
    typeof parsed.pos !== 'number' ||
    !Number.isInteger(parsed.pos) ||
    !validGtid
  ) {
    throw corrupt(sourceId, 'lacks a valid file/pos');
  }
  return parsed as Checkpoint;
}

function corrupt(sourceId: string, why: string, cause?: unknown): SluiceError {
  return new SluiceError(
    'SLUICE_CHECKPOINT_CORRUPT',
    `checkpoint of source ${sourceId} ${why}; inspect it with \`nats kv get <prefix>_checkpoints ${sourceId}\` and fix or delete it (deleting restarts capture at the end of the binlog)`,
    { cause, details: { sourceId } },
  );
}

/** Options of {@link CheckpointWriter}. */
export interface CheckpointWriterOptions {
  readonly kv: KV;
  readonly sourceId: string;
  /** Least time between two writes, in milliseconds. */
  readonly intervalMs: number;
  readonly serverId: number | undefined;
  readonly logger: Logger;
  /** Milliseconds since the epoch; injected so tests and the throttle agree on time. */
  readonly now: () => number;
  /**
   * False while this process may not write (it lost the source's lease): a paused capturer waking up
   * must not move the new holder's checkpoint back. @default always true
   */
  readonly mayWrite?: () => boolean;
}

/**
 * Writes checkpoints at most once per `intervalMs`, always the newest position offered, one write at a
 * time. A failed write (NATS unreachable) is logged and retried with the next offer or at `flush`:
 * the checkpoint only lags, it never moves past acknowledged data.
 */
export class CheckpointWriter {
  readonly #o: CheckpointWriterOptions;
  #latest: BinlogPosition | undefined;
  #written: Checkpoint | undefined;
  #writtenPos: BinlogPosition | undefined;
  #lastWriteAt = Number.NEGATIVE_INFINITY;
  #writing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: CheckpointWriterOptions, initial?: Checkpoint) {
    this.#o = options;
    this.#written = initial;
  }

  /** The last checkpoint known to be stored (loaded at start or written since). */
  get written(): Checkpoint | undefined {
    return this.#written;
  }

  /** Offers a newer safe position; it is written now or when the interval has passed. */
  offer(pos: BinlogPosition): void {
    if (this.#closed) return;
    this.#latest = pos;
    if (this.#writing || this.#timer) return;
    const waitMs = this.#lastWriteAt + this.#o.intervalMs - this.#o.now();
    if (waitMs <= 0) this.#startWrite();
    else {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#startWrite();
      }, waitMs);
      this.#timer.unref();
    }
  }

  /** Writes the newest offered position now (after any write in flight) and stops further writes. */
  async flush(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
    if (this.#latest !== undefined && this.#latest !== this.#writtenPos)
      await this.#write(this.#latest, true);
  }

  /**
   * Stops writing without a final write, for a session discarded after a failure; resolves once a
   * write in flight has settled, so that a later writer's checkpoint is never overwritten by it.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#writing;
  }

  #startWrite(): void {
    const pos = this.#latest;
    if (pos === undefined || pos === this.#writtenPos || this.#closed) return;
    this.#writing = this.#write(pos, false).finally(() => {
      this.#writing = undefined;
      // Positions offered while writing wait for the next interval.
      if (this.#latest !== this.#writtenPos) this.offer(this.#latest!);
    });
  }

  async #write(pos: BinlogPosition, final: boolean): Promise<void> {
    // Set first: a write that does not happen must still wait out the interval before the next try,
    // or offer → write → offer would spin on microtasks and starve the event loop.
    this.#lastWriteAt = this.#o.now();
    if (this.#o.mayWrite?.() === false) {
      this.#o.logger.warn({ code: 'SLUICE_LEASE_LOST' }, 'checkpoint not written: the capture lease ran out');
      return;
    }
    const cp: Checkpoint = {
      ...(pos.gtid !== undefined ? { gtid: pos.gtid } : {}),
      file: pos.file,
      pos: pos.pos,
      ...(this.#o.serverId !== undefined ? { serverId: this.#o.serverId } : {}),
      updatedAt: new Date(this.#lastWriteAt).toISOString(),
    };
    try {
      await this.#o.kv.put(this.#o.sourceId, encoder.encode(JSON.stringify(cp)));
      this.#written = cp;
      this.#writtenPos = pos;
    } catch (err) {
      this.#o.logger.warn({ err, final }, 'checkpoint write failed; will retry');
      if (final) throw err;
    }
  }
}

/**
 * Where to resume: the checkpoint's GTID position when it has one (exact, and valid on any server of
 * the replication topology), else its file/pos, else the current end of the binlog (logged).
 * @throws SluiceError `SLUICE_CHECKPOINT_FOREIGN` for a GTID-less checkpoint of another server.
 */
export function startPointFor(cp: Checkpoint | undefined, serverId: number, log: Logger): StartPoint {
  if (cp === undefined) {
    log.info('no checkpoint for this source: starting at the current end of the binlog');
    return { startAtEnd: true };
  }
  if (cp.gtid !== undefined) return { gtidSet: cp.gtid };
  if (cp.serverId !== undefined && cp.serverId !== serverId) {
    // file/pos are meaningless on another server; refusing beats silently reading the wrong history.
    throw new SluiceError(
      'SLUICE_CHECKPOINT_FOREIGN',
      `checkpoint was taken on server_id ${cp.serverId} without a GTID, but the source is server_id ${serverId}`,
      { details: { checkpoint: cp } },
    );
  }
  return { filename: cp.file, position: cp.pos };
}
