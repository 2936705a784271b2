import type { MsgHdrs } from '@nats-io/transport-node';
import { SluiceError, dlqEndpointFilter, dlqStream, readDeadLetter } from '@sluice/core';
import type { AdminContext } from './context.js';
import { scanStream } from './scan.js';
import { parseTime } from './time.js';
import type { ParsedArgs } from '../command.js';

// The DLQ is read from a start time on the server when --since is given. The stored time is the
// NATS server's clock and Sluice-Failed-At the deliverer's: start this much earlier so that a clock
// skew between the two hosts cannot hide a dead letter the client-side filter would keep.
const CLOCK_SKEW_MS = 5 * 60_000;

/** A message of the DLQ stream, read back from its subject and headers (decision 0007). */
export interface DeadLetter {
  /** Sequence number in the DLQ stream: the handle for `dlq show` and `dlq redrive --seq`. */
  readonly seq: number;
  readonly subject: string;
  readonly partition: number | undefined;
  /** When the stream stored it, ms since the epoch. */
  readonly storedAtMs: number;
  /** `Sluice-Failed-At`, or when it was stored when the header is missing; ms since the epoch. */
  readonly failedAtMs: number;
  readonly eventId: string | undefined;
  readonly subscriptionId: string | undefined;
  readonly endpointId: string | undefined;
  /** Attempts made before it was dead-lettered (`Sluice-Attempt`). */
  readonly attempts: number | undefined;
  /** `exhausted`, `non-retryable-status` or `unknown-endpoint`. */
  readonly reason: string | undefined;
  /** The last HTTP status, when a response arrived. */
  readonly status: number | undefined;
  /** The last error code (`timeout`, `network`), when none did. */
  readonly error: string | undefined;
  /** Every header, in the order stored. */
  readonly headers: Readonly<Record<string, string>>;
  /** The event, as the CloudEvent JSON bytes delivered. */
  readonly data: Uint8Array;
}

/** The parts of a stored message a dead letter is read from (a `JsMsg` or a `StoredMsg`). */
export interface StoredMessage {
  readonly seq: number;
  readonly subject: string;
  readonly time: Date;
  readonly data: Uint8Array;
}

/** Reads a dead letter from a DLQ message; missing or malformed headers read as `undefined`. */
export function deadLetterOf(m: StoredMessage, hdrs: MsgHdrs | undefined): DeadLetter {
  const headers: Record<string, string> = {};
  for (const [k, v] of hdrs ?? []) headers[k] = v.join(', ');
  const stored = readDeadLetter({ subject: m.subject, headers: hdrs });
  const storedAtMs = m.time.getTime();
  return {
    seq: m.seq,
    subject: m.subject,
    storedAtMs,
    ...stored,
    failedAtMs: stored.failedAtMs ?? storedAtMs,
    headers,
    data: m.data,
  };
}

/** Which dead letters a `dlq ls` or `dlq redrive` is about; every field narrows. */
export interface DeadLetterFilter {
  readonly endpointId?: string;
  readonly subscriptionId?: string;
  /** Failed at or after, ms since the epoch. */
  readonly sinceMs?: number;
  /** Failed at or before, ms since the epoch. */
  readonly untilMs?: number;
  /** Only this DLQ sequence number. */
  readonly seq?: number;
}

/** True when `d` passes every field of `f`. */
export function matchesFilter(d: DeadLetter, f: DeadLetterFilter): boolean {
  return (
    (f.endpointId === undefined || d.endpointId === f.endpointId) &&
    (f.subscriptionId === undefined || d.subscriptionId === f.subscriptionId) &&
    (f.sinceMs === undefined || d.failedAtMs >= f.sinceMs) &&
    (f.untilMs === undefined || d.failedAtMs <= f.untilMs) &&
    (f.seq === undefined || d.seq === f.seq)
  );
}

/** The event bytes as JSON when they are JSON, else as text. */
export function eventOf(d: DeadLetter): unknown {
  const text = Buffer.from(d.data).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Reads `--endpoint`, `--subscription`, `--since` and `--until`.
 * @throws SluiceError `SLUICE_USAGE` for a malformed time or `--since` after `--until`.
 */
export function filterOf(args: ParsedArgs, nowMs: number): DeadLetterFilter {
  const v = args.values;
  const filter: DeadLetterFilter = {
    ...(typeof v.endpoint === 'string' ? { endpointId: v.endpoint } : {}),
    ...(typeof v.subscription === 'string' ? { subscriptionId: v.subscription } : {}),
    ...(typeof v.since === 'string' ? { sinceMs: parseTime('--since', v.since, nowMs) } : {}),
    ...(typeof v.until === 'string' ? { untilMs: parseTime('--until', v.until, nowMs) } : {}),
  };
  if (filter.sinceMs !== undefined && filter.untilMs !== undefined && filter.sinceMs > filter.untilMs)
    throw new SluiceError('SLUICE_USAGE', '--since is later than --until');
  return filter;
}

/**
 * The dead letters matching `filter`, oldest first. The endpoint is filtered by the server (it is a
 * subject token), the rest here.
 */
export async function* deadLetters(ctx: AdminContext, filter: DeadLetterFilter): AsyncGenerator<DeadLetter> {
  const ns = ctx.config.nats;
  const scan = scanStream(ctx.js, ctx.jsm, {
    stream: dlqStream(ns),
    filter: dlqEndpointFilter(ns, filter.endpointId),
    ...(filter.sinceMs !== undefined ? { startTimeMs: filter.sinceMs - CLOCK_SKEW_MS } : {}),
  });
  for await (const m of scan) {
    const d = deadLetterOf(m, m.headers);
    if (matchesFilter(d, filter)) yield d;
  }
}

/**
 * Fetches one dead letter by its DLQ sequence number.
 * @throws SluiceError `SLUICE_DEAD_LETTER_NOT_FOUND` when the DLQ does not hold it (any more).
 */
export async function getDeadLetter(ctx: AdminContext, seq: number): Promise<DeadLetter> {
  const stream = dlqStream(ctx.config.nats);
  const m = await ctx.jsm.streams.getMessage(stream, { seq }).catch((err: unknown) => {
    // nats-server answers 10037 "no message found" for a deleted or never-used sequence.
    if (/no message found/i.test(String((err as Error)?.message))) return null;
    throw err;
  });
  if (!m)
    throw new SluiceError(
      'SLUICE_DEAD_LETTER_NOT_FOUND',
      `${stream} holds no dead letter with sequence ${seq} (redriven, expired, or never there)`,
      { details: { stream, seq } },
    );
  return deadLetterOf(m, m.header);
}
