import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Logger } from './logger.js';

/** Options of {@link startPullLoop}. */
export interface PullLoopOptions {
  /** Most messages one pull asks for. */
  readonly batch: number;
  /**
   * How long one pull waits for messages, ms; also the longest a stop waits for the pull in flight.
   * @default 2000
   */
  readonly expiresMs?: number;
  readonly logger: Logger;
  /**
   * How many messages the handler can take right now; resolves only once that is at least 1. Each
   * fetch asks for at most that many, so nothing pulled waits in the client for a free slot
   * without progress reports, where it could outlive `ack_wait` and be delivered twice.
   * @default always `batch`
   */
  readonly capacity?: () => number | Promise<number>;
}

/** A running pull loop. */
export interface PullLoop {
  /** Asks for no more messages, waits for the pull in flight to finish and its messages to be handled. */
  stop(): Promise<void>;
}

const RETRY_MS = 1_000;

// nats.js ends a fetch with "heartbeats missed" after two idle heartbeats, and its default heartbeat
// is half of `expires`: on a quiet consumer that check fires right when the server's own expiry
// (408) is due, so under event-loop lag it wins the race routinely. That is an idle pull ending, not
// a failure: pull again at once. Treated as a failure it paused the partition for RETRY_MS, seen as
// 1-3 s commit→webhook tails at 500-1,000 rows/s in the e2e benchmark. (A shorter explicit
// idle_heartbeat made it worse there: p50 rose from ~5 ms to ~250 ms.)
function isIdleFetchEnd(err: unknown): boolean {
  return (err as Error | undefined)?.message === 'heartbeats missed';
}

/**
 * Consumes a durable pull consumer one bounded fetch at a time, awaiting `handle` for each message.
 *
 * Why fetches and not `consume()`: stopping a `consume()` unsubscribes at once, and messages the
 * server already sent to that subscription are dropped by the client; they then sit ack-pending for
 * a whole `ack_wait` before anyone may take them, so every graceful restart stalls part of the stream
 * (observed: ~100 events per partition for 30 s). A fetch has a bounded size and lifetime, so a stop
 * simply requests nothing more and lets the last fetch finish: whatever was pulled is handled.
 * Stopping does not stop upstream producers: stop the roles in pipeline order (capture, router,
 * deliverer), so that nothing new reaches a fetch that is being ended.
 */
export function startPullLoop(
  consumer: Consumer,
  options: PullLoopOptions,
  handle: (m: JsMsg) => void | Promise<void>,
): PullLoop {
  const expires = options.expiresMs ?? 2_000;
  let stopping = false;
  let wake: (() => void) | undefined;
  let current: ConsumerMessages | undefined;
  const loop = (async () => {
    while (!stopping) {
      try {
        const room = options.capacity ? Math.min(options.batch, await options.capacity()) : options.batch;
        if (stopping) break;
        current = await consumer.fetch({ max_messages: room, expires });
        for await (const m of current) await handle(m);
      } catch (err) {
        if (stopping) break;
        if (isIdleFetchEnd(err)) continue;
        options.logger.warn({ err }, 'pull failed; retrying');
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, RETRY_MS).unref();
        });
      }
    }
  })();
  return {
    async stop() {
      stopping = true;
      wake?.();
      // An idle fetch would hold the stop for up to `expiresMs`. The server answers on the same
      // connection after everything it already sent us, so once it reports nothing pending, every
      // message of this fetch is already queued in the iterator, and ending it now loses nothing.
      const info = await consumer.info().catch(() => undefined);
      if (info?.num_pending === 0) current?.stop();
      await loop;
    },
  };
}
