import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from './wait.js';

/** One request as the receiver saw it. */
export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/hooks/orders?x=1`. */
  url: string;
  /** Lower-cased header names, as Node parses them. */
  headers: IncomingHttpHeaders;
  /** The raw body decoded as UTF-8, exactly as received (signatures are computed over it). */
  body: string;
  /** `Date.now()` when the body had been read. */
  receivedAt: number;
  /** The status answered, once chosen; absent for a request that is never answered (`hang`). */
  status?: number;
}

/**
 * How the receiver answers:
 * - `answer`: the status, headers and an empty body, after `delayMs`;
 * - `hang`: reads the request and never answers (until the client gives up or the receiver closes);
 * - `trickle`: sends the status and headers at once, then one body byte every `trickleMs`, for ever.
 */
export type ResponseMode = 'answer' | 'hang' | 'trickle';

/** Chooses a response from the request and its zero-based index among all received requests. */
export type Respond<T> = T | ((req: RecordedRequest, index: number) => T);

/** Options for {@link startReceiver}. */
export interface ReceiverOptions {
  /** Response status. @default 204 */
  status?: Respond<number>;
  /** Extra response headers, e.g. `{ 'retry-after': '1' }`. @default none */
  headers?: Respond<Record<string, string>>;
  /** Wait this long before answering, in milliseconds (to provoke client timeouts). @default 0 */
  delayMs?: Respond<number>;
  /** How to answer. @default 'answer' */
  mode?: Respond<ResponseMode>;
  /** Pause between body bytes in `trickle` mode, in milliseconds. @default 200 */
  trickleMs?: number;
}

/** Options for {@link TestReceiver.waitFor}. */
export interface ReceiverWaitOptions {
  /** @default 10000 */
  timeoutMs?: number;
}

/** A webhook receiver on 127.0.0.1, from {@link startReceiver}. */
export interface TestReceiver {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** Every request so far, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Requests arrived and not yet answered nor abandoned by the client, right now. */
  readonly inFlight: number;
  /** The most requests that were ever {@link TestReceiver.inFlight} at once. */
  readonly maxInFlight: number;
  /**
   * Waits until `count` requests arrived, or until `predicate(requests)` holds; returns the requests.
   *
   * @throws Error on timeout, naming how many requests had arrived.
   */
  waitFor(
    until: number | ((requests: readonly RecordedRequest[]) => boolean),
    opts?: ReceiverWaitOptions,
  ): Promise<readonly RecordedRequest[]>;
  /** Closes the server and every open connection, and cancels delayed answers. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a real HTTP server on 127.0.0.1, port 0, that records every request and answers with
 * `status`. Use as `await using hook = await startReceiver({ status: 503 })`.
 */
export async function startReceiver(opts: ReceiverOptions = {}): Promise<TestReceiver> {
  const requests: RecordedRequest[] = [];
  const closing = new AbortController();
  const trickles = new Set<NodeJS.Timeout>();
  let inFlight = 0;
  let maxInFlight = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Counted from the request's arrival until it is answered (ended before the answer goes out, so
    // that a client reacting to it at once is never counted twice) or its connection closes.
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let open = true;
    const finished = (): void => {
      if (open) inFlight -= 1;
      open = false;
    };
    res.once('close', finished);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      receivedAt: Date.now(),
    };
    const index = requests.push(recorded) - 1;
    const status = pick(opts.status, recorded, index) ?? 204;
    const headers = pick(opts.headers, recorded, index) ?? {};
    const delayMs = pick(opts.delayMs, recorded, index) ?? 0;
    const mode = pick(opts.mode, recorded, index) ?? 'answer';
    if (mode === 'hang') return;
    if (delayMs > 0) await sleep(delayMs, undefined, { signal: closing.signal });
    recorded.status = status;
    if (mode === 'trickle') {
      res.writeHead(status, headers);
      const timer = setInterval(() => res.write('.'), opts.trickleMs ?? 200);
      trickles.add(timer);
      res.once('close', () => {
        clearInterval(timer);
        trickles.delete(timer);
      });
      return;
    }
    finished();
    res.writeHead(status, headers).end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    async waitFor(until, { timeoutMs = 10_000 } = {}) {
      const done = typeof until === 'number' ? () => requests.length >= until : () => until(requests);
      const what = typeof until === 'number' ? `at least ${until}` : 'a match for the predicate';
      try {
        await waitFor(done, { timeoutMs, message: what });
      } catch (err) {
        throw new Error(
          `receiver ${port} got ${requests.length} request(s) in ${timeoutMs} ms; expected ${what}`,
          {
            cause: err,
          },
        );
      }
      return requests;
    },
    async [Symbol.asyncDispose]() {
      closing.abort();
      for (const t of trickles) clearInterval(t);
      trickles.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function pick<T>(respond: Respond<T> | undefined, req: RecordedRequest, index: number): T | undefined {
  return typeof respond === 'function'
    ? (respond as (r: RecordedRequest, i: number) => T)(req, index)
    : respond;
}
