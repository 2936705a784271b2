import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SluiceError, eventsStream, readEventHeaders, type Logger, type NatsConfig } from '@sluice/core';
import type { Checkpoint } from './checkpoint-store.js';
import { StoredEvents } from './reconcile-floor.js';

/** Options of {@link reconcileWithStream}. */
export interface ReconcileOptions {
  readonly nc: NatsConnection;
  readonly nats: NatsConfig;
  readonly sourceId: string;
  /** The checkpoint the session resumes from; `undefined` for a source that has none yet. */
  readonly checkpoint: Checkpoint | undefined;
  /** Most stream messages (of every source) one scan reads. */
  readonly maxMessages: number;
  /** Most time one scan takes, in milliseconds. */
  readonly timeoutMs: number;
  /**
   * Added to the scan's time bound, in milliseconds: the publish timeout (a publish is stored at most
   * that long after it left) plus the clock difference tolerated between capture host and NATS server.
   */
  readonly slackMs: number;
  readonly logger: Logger;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** True once the session the scan is for was discarded: the scan stops early. @default never */
  readonly cancelled?: () => boolean;
}

/** What {@link reconcileWithStream} found. */
export interface ReconcileResult {
  /** Ids of this source's events after the checkpoint that the stream already holds. */
  readonly stored: StoredEvents;
  /** The `streamSeq` the session starts from (see StreamFloor), or `undefined` when unknown. */
  readonly floor: number | undefined;
  /** Stream messages read. */
  readonly scanned: number;
  /** False when the scan could not cover everything: events it did not find are published again. */
  readonly complete: boolean;
}

/** Messages requested per pull while scanning. */
const SCAN_BATCH = 1_000;

/**
 * Finds the events of `sourceId` after the checkpoint that `SLUICE_EVENTS` already holds, so that a
 * resumed session publishes none of them again — exact resume beyond the dedupe window
 * (docs/decisions/0009-exact-resume.md). Reads headers only (`Nats-Msg-Id`, `Sluice-Source`) with an
 * ordered consumer from the checkpoint's `streamSeq` + 1 up to the stream's end at the start of the
 * scan, or up to the first message stored after the checkpoint's `updatedAt` + twice its heartbeat +
 * `slackMs`: nothing of this source can be stored later, because a capturer stops publishing when it
 * cannot keep its checkpoint that fresh. Bounded by `maxMessages` and `timeoutMs`; a scan cut short
 * still skips what it found and logs `SLUICE_RECONCILE_INCOMPLETE`.
 * @throws SluiceError `SLUICE_RECONCILE_FAILED` when the stream cannot be read (the session is retried).
 */
export async function reconcileWithStream(o: ReconcileOptions): Promise<ReconcileResult> {
  const stored = new StoredEvents();
  const stream = eventsStream(o.nats);
  const cp = o.checkpoint;
  const now = o.now ?? Date.now;
  const lastSeq = await readLastSeq(o.nc, stream);
  // No checkpoint: the session starts at the end of the binlog, so no copy of anything it will
  // publish can be stored yet, and the current end of the stream is a valid floor.
  if (cp === undefined) return { stored, floor: lastSeq, scanned: 0, complete: true };
  if (cp.streamSeq === undefined) {
    o.logger.warn(
      { code: 'SLUICE_RECONCILE_INCOMPLETE', checkpoint: cp },
      'checkpoint has no streamSeq (written by an older version): events after it are published again and only the dedupe window collapses them',
    );
    return { stored, floor: undefined, scanned: 0, complete: false };
  }
  // A stream recreated since (its sequences start again) holds none of this source's later events.
  const floor = Math.min(cp.streamSeq, lastSeq);
  if (lastSeq <= floor) return { stored, floor, scanned: 0, complete: true };

  const updatedMs = Date.parse(cp.updatedAt);
  const untilMs =
    cp.heartbeatMs !== undefined && Number.isFinite(updatedMs)
      ? updatedMs + 2 * cp.heartbeatMs + o.slackMs
      : Number.POSITIVE_INFINITY;
  const startedAt = now();
  const scan = await scanFrom(o, stream, floor + 1, lastSeq, untilMs, stored);
  const complete = scan.stop === 'end' || scan.stop === 'time';
  const summary = {
    fromSeq: floor + 1,
    toSeq: lastSeq,
    lastScannedSeq: scan.lastSeq,
    scanned: scan.scanned,
    found: stored.size,
    stop: scan.stop,
    elapsedMs: now() - startedAt,
  };
  if (complete) o.logger.info(summary, 'reconciled with the events stream');
  else
    o.logger.warn(
      { code: 'SLUICE_RECONCILE_INCOMPLETE', ...summary },
      'reconcile scan cut short: events it did not reach are published again and only the dedupe window collapses them',
    );
  return { stored, floor, scanned: scan.scanned, complete };
}

async function readLastSeq(nc: NatsConnection, stream: string): Promise<number> {
  try {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    return (await jsm.streams.info(stream)).state.last_seq;
  } catch (cause) {
    throw failed(stream, cause);
  }
}

interface Scan {
  scanned: number;
  lastSeq: number;
  stop: 'end' | 'time' | 'max-messages' | 'timeout' | 'interrupted' | 'cancelled';
}

async function scanFrom(
  o: ReconcileOptions,
  stream: string,
  fromSeq: number,
  lastSeq: number,
  untilMs: number,
  stored: StoredEvents,
): Promise<Scan> {
  const scan: Scan = { scanned: 0, lastSeq: fromSeq - 1, stop: 'interrupted' };
  let messages: ConsumerMessages;
  try {
    const consumer = await jetstream(o.nc).consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: fromSeq,
      headers_only: true,
    });
    messages = await consumer.consume({ max_messages: SCAN_BATCH });
  } catch (cause) {
    throw failed(stream, cause);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void messages.close();
  }, o.timeoutMs);
  try {
    for await (const m of messages) {
      if (m.info.timestampNanos / 1e6 > untilMs) {
        scan.stop = 'time';
        break;
      }
      scan.scanned++;
      scan.lastSeq = m.seq;
      const { id, sourceId } = readEventHeaders(m.headers);
      if (id !== undefined && sourceId === o.sourceId) stored.add(id, m.seq);
      if (m.seq >= lastSeq || m.info.pending === 0) {
        scan.stop = 'end';
        break;
      }
      if (scan.scanned >= o.maxMessages) {
        scan.stop = 'max-messages';
        break;
      }
      if (o.cancelled?.() === true) {
        scan.stop = 'cancelled';
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    await messages.close();
  }
  if (timedOut && scan.stop === 'interrupted') scan.stop = 'timeout';
  return scan;
}

function failed(stream: string, cause: unknown): SluiceError {
  return new SluiceError(
    'SLUICE_RECONCILE_FAILED',
    `could not read ${stream} to reconcile before resuming: ${(cause as Error).message}`,
    { cause, details: { stream } },
  );
}
