import type { Consumer, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';

/** Where a scan of one stream starts and what it matches. */
export interface ScanOptions {
  readonly stream: string;
  /** Subject filter, applied by the server. */
  readonly filter: string;
  /** First stream sequence to read. @default the stream's first */
  readonly startSeq?: number;
  /** Read only messages stored at or after this time, ms since the epoch. */
  readonly startTimeMs?: number;
}

const BATCH = 256;
// Only waited out when messages counted as pending were deleted before they could be fetched.
const FETCH_EXPIRES_MS = 2_000;

/**
 * Reads the messages of a stream that match `filter` and exist when the scan starts, in stream order,
 * with an ordered consumer (no durable state on the server, deleted at the end). Ends at the stream's
 * last sequence as of the start instead of waiting for new messages, so an admin command never hangs
 * on a quiet stream, and a redrive never meets the dead letters its own redeliveries cause.
 */
export async function* scanStream(
  js: JetStreamClient,
  jsm: JetStreamManager,
  o: ScanOptions,
): AsyncGenerator<JsMsg, void, undefined> {
  const { state } = await jsm.streams.info(o.stream);
  if (state.messages === 0) return;
  const consumer = await orderedConsumer(js, o);
  try {
    let remaining = (await consumer.info(true)).num_pending;
    while (remaining > 0) {
      const batch = await consumer.fetch({
        max_messages: Math.min(remaining, BATCH),
        expires: FETCH_EXPIRES_MS,
      });
      let got = 0;
      try {
        for await (const m of batch) {
          if (m.seq > state.last_seq) {
            remaining = 0;
            break;
          }
          got += 1;
          remaining = m.seq === state.last_seq ? 0 : m.info.pending;
          yield m;
          if (remaining === 0) break;
        }
      } finally {
        batch.stop();
      }
      if (got === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => false);
  }
}

/**
 * Reads the newest `limit` messages matching `filter`, in stream order, without reading the whole
 * stream: it estimates from the share of matching messages where the last `limit` of them begin,
 * checks the estimate with the server's pending count, and widens it until it holds.
 */
export async function readLatest(
  js: JetStreamClient,
  jsm: JetStreamManager,
  o: { readonly stream: string; readonly filter: string; readonly limit: number },
): Promise<JsMsg[]> {
  const { state } = await jsm.streams.info(o.stream);
  if (state.messages === 0) return [];
  const first = state.first_seq;
  const total = await countFrom(js, o, first);
  if (total === 0) return [];
  let start = first;
  if (total > o.limit) {
    const span = state.last_seq - first + 1;
    let window = Math.ceil(((o.limit * span) / total) * 1.25);
    for (;;) {
      start = Math.max(first, state.last_seq - window + 1);
      if (start === first || (await countFrom(js, o, start)) >= o.limit) break;
      window *= 2;
    }
  }
  const latest: JsMsg[] = [];
  for await (const m of scanStream(js, jsm, { ...o, startSeq: start })) {
    latest.push(m);
    if (latest.length > o.limit) latest.shift();
  }
  return latest;
}

async function countFrom(
  js: JetStreamClient,
  o: { readonly stream: string; readonly filter: string },
  startSeq: number,
): Promise<number> {
  const consumer = await orderedConsumer(js, { ...o, startSeq });
  try {
    return (await consumer.info(true)).num_pending;
  } finally {
    await consumer.delete().catch(() => false);
  }
}

function orderedConsumer(js: JetStreamClient, o: ScanOptions): Promise<Consumer> {
  // A fresh object each time: consumers.get() writes its generated name prefix into the options.
  return js.consumers.get(o.stream, {
    filter_subjects: o.filter,
    ...(o.startSeq !== undefined ? { opt_start_seq: o.startSeq } : {}),
    ...(o.startTimeMs !== undefined ? { opt_start_time: new Date(o.startTimeMs).toISOString() } : {}),
  });
}
