import type { KV } from '@nats-io/kv';
import { SluiceError, type Logger } from '@sluice/core';
import type { BinlogPosition } from '../transactions/transaction-tracker.js';

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
  /**
   * Events-stream sequence that every stored copy of an event of this source after the position lies
   * above: the reconcile scan on start reads the stream from here + 1 (decision 0009-exact-resume).
   * Absent in checkpoints written before it existed; then resume relies on dedupe alone.
   */
  readonly streamSeq?: number;
  /**
   * The writer rewrote this checkpoint at least this often, in milliseconds, while it published; so no
   * event of the source was stored much later than `updatedAt` + twice this. Bounds the reconcile scan.
   */
  readonly heartbeatMs?: number;
  /** RFC 3339 time of the write. */
  readonly updatedAt: string;
}

/**
 * A position offered to {@link CheckpointWriter}: a transaction boundary plus the stream sequence that
 * goes with it (see {@link Checkpoint.streamSeq}).
 */
export interface CheckpointPosition extends BinlogPosition {
  readonly streamSeq?: number;
  /** Server the position was read on, when not the writer's own (a loaded checkpoint being refreshed). */
  readonly serverId?: number;
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
  if (!optionalCount(parsed.streamSeq) || !optionalCount(parsed.heartbeatMs)) {
    throw corrupt(sourceId, 'has a streamSeq or heartbeatMs that is not a non-negative integer');
  }
  return parsed as Checkpoint;
}

function optionalCount(v: unknown): boolean {
  return v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 0);
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
  /** Least time between two writes of a new position, in milliseconds. */
  readonly intervalMs: number;
  /**
   * Most time between two writes, in milliseconds: the last position is written again with a fresh
   * `updatedAt` when it did not move (an idle source, a long transaction). @default no heartbeat
   */
  readonly heartbeatMs?: number;
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
 * time, and at least once per `heartbeatMs`. A failed write (NATS unreachable) is logged and retried
 * with the next offer, heartbeat or `flush`: the checkpoint only lags, it never moves past
 * acknowledged data. {@link stale} tells the session to stop publishing when writes keep failing, so
 * that `updatedAt` keeps bounding what was stored (docs/decisions/0009-exact-resume.md).
 */
export class CheckpointWriter {
  readonly #o: CheckpointWriterOptions;
  #latest: CheckpointPosition | undefined;
  #written: Checkpoint | undefined;
  #writtenPos: CheckpointPosition | undefined;
  #lastWriteAt = Number.NEGATIVE_INFINITY;
  #lastOkAt: number | undefined;
  #writing: Promise<boolean> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #beat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: CheckpointWriterOptions, initial?: Checkpoint) {
    this.#o = options;
    this.#written = initial;
    this.#writtenPos = initial === undefined ? undefined : positionOf(initial);
  }

  /** The last checkpoint known to be stored (loaded at start or written since). */
  get written(): Checkpoint | undefined {
    return this.#written;
  }

  /**
   * True when the writer has a checkpoint to keep fresh but has not stored one for more than twice
   * `heartbeatMs`: whatever is published now could land after the time a reconcile scan trusts.
   */
  get stale(): boolean {
    const hb = this.#o.heartbeatMs;
    return hb !== undefined && this.#lastOkAt !== undefined && this.#o.now() - this.#lastOkAt > 2 * hb;
  }

  /**
   * Writes the loaded checkpoint again with a fresh `updatedAt` (so that it covers what this session
   * will publish) — or, when none was loaded, `initial`, the position the session starts from, so that
   * a crash before the first transaction cannot move the start forward — and starts the heartbeat.
   * Call before publishing anything.
   * @throws SluiceError `SLUICE_CHECKPOINT_STALE` when that write fails.
   */
  async start(initial?: CheckpointPosition): Promise<void> {
    if (this.#closed) return; // the session was discarded meanwhile: a later one may have written since
    const pos = this.#writtenPos ?? initial;
    if (pos === undefined) return this.#armHeartbeat(this.#o.heartbeatMs);
    // Tracked as the write in flight, so that close() waits for it.
    const writing = (this.#writing = this.#write(pos, 'start'));
    const ok = await writing.finally(() => (this.#writing = undefined));
    if (!ok) {
      throw new SluiceError(
        'SLUICE_CHECKPOINT_STALE',
        `checkpoint of source ${this.#o.sourceId} could not be written before streaming`,
        { details: { sourceId: this.#o.sourceId } },
      );
    }
    this.#armHeartbeat(this.#o.heartbeatMs);
  }

  /** Offers a newer safe position; it is written now or when the interval has passed. */
  offer(pos: CheckpointPosition): void {
    if (this.#closed) return;
    this.#latest = pos;
    if (this.#writing || this.#timer) return;
    const waitMs = this.#lastWriteAt + this.#o.intervalMs - this.#o.now();
    if (waitMs <= 0) this.#startWrite(pos);
    else {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (this.#latest !== undefined) this.#startWrite(this.#latest);
      }, waitMs);
      this.#timer.unref();
    }
  }

  /** Writes the newest offered position now (after any write in flight) and stops further writes. */
  async flush(): Promise<void> {
    this.#stopTimers();
    await this.#writing;
    if (this.#latest !== undefined && this.#latest !== this.#writtenPos) {
      if (!(await this.#write(this.#latest, 'final'))) {
        throw new SluiceError('SLUICE_CHECKPOINT_STALE', 'the final checkpoint could not be written', {
          details: { sourceId: this.#o.sourceId },
        });
      }
    }
  }

  /**
   * Stops writing without a final write, for a session discarded after a failure; resolves once a
   * write in flight has settled, so that a later writer's checkpoint is never overwritten by it.
   */
  async close(): Promise<void> {
    this.#stopTimers();
    await this.#writing;
  }

  #stopTimers(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#beat);
    this.#timer = undefined;
    this.#beat = undefined;
  }

  #startWrite(pos: CheckpointPosition, heartbeat = false): void {
    // One write at a time, or an older position could land after a newer one; the write in flight
    // offers the newest position again when it settles.
    if ((pos === this.#writtenPos && !heartbeat) || this.#closed || this.#writing) return;
    this.#writing = this.#write(pos, heartbeat ? 'heartbeat' : 'offer').finally(() => {
      this.#writing = undefined;
      // Positions offered while writing wait for the next interval.
      if (this.#latest !== undefined && this.#latest !== this.#writtenPos) this.offer(this.#latest);
    });
  }

  #armHeartbeat(delayMs: number | undefined): void {
    if (delayMs === undefined || this.#closed) return;
    clearTimeout(this.#beat);
    this.#beat = setTimeout(() => this.#heartbeat(), delayMs);
    this.#beat.unref();
  }

  #heartbeat(): void {
    this.#beat = undefined;
    if (this.#closed || this.#writing) return; // the write in flight re-arms the heartbeat
    // The newest position when the interval allows it, else the stored one again: either way a fresh
    // updatedAt, without writing positions more often than checkpointIntervalMs.
    const due = this.#o.now() >= this.#lastWriteAt + this.#o.intervalMs;
    const pos = (due ? this.#latest : undefined) ?? this.#writtenPos ?? this.#latest;
    if (pos === undefined) this.#armHeartbeat(this.#o.heartbeatMs);
    else this.#startWrite(pos, true);
  }

  async #write(pos: CheckpointPosition, why: 'start' | 'offer' | 'heartbeat' | 'final'): Promise<boolean> {
    // Set first, refused writes included: the retry of a newer position then waits for the interval
    // instead of spinning through promise callbacks and starving the event loop.
    this.#lastWriteAt = this.#o.now();
    if (this.#o.mayWrite?.() === false) {
      this.#o.logger.warn({ code: 'SLUICE_LEASE_LOST' }, 'checkpoint not written: the capture lease ran out');
      return false;
    }
    const serverId = pos.serverId ?? this.#o.serverId;
    const cp: Checkpoint = {
      ...(pos.gtid !== undefined ? { gtid: pos.gtid } : {}),
      file: pos.file,
      pos: pos.pos,
      ...(serverId !== undefined ? { serverId } : {}),
      ...(pos.streamSeq !== undefined ? { streamSeq: pos.streamSeq } : {}),
      ...(this.#o.heartbeatMs !== undefined ? { heartbeatMs: this.#o.heartbeatMs } : {}),
      updatedAt: new Date(this.#lastWriteAt).toISOString(),
    };
    let ok = false;
    try {
      await this.#o.kv.put(this.#o.sourceId, encoder.encode(JSON.stringify(cp)));
      this.#written = cp;
      this.#writtenPos = pos;
      this.#lastOkAt = this.#lastWriteAt;
      ok = true;
    } catch (err) {
      this.#o.logger.warn({ err, why }, 'checkpoint write failed; will retry');
    }
    // After a failure, try again well before the checkpoint counts as stale.
    const hb = this.#o.heartbeatMs;
    if (hb !== undefined) this.#armHeartbeat(ok ? hb : Math.max(1, Math.floor(hb / 4)));
    return ok;
  }
}

function positionOf(cp: Checkpoint): CheckpointPosition {
  return {
    ...(cp.gtid !== undefined ? { gtid: cp.gtid } : {}),
    file: cp.file,
    pos: cp.pos,
    ...(cp.serverId !== undefined ? { serverId: cp.serverId } : {}),
    ...(cp.streamSeq !== undefined ? { streamSeq: cp.streamSeq } : {}),
  };
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
