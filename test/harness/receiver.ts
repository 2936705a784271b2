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
}

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

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
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
    if (delayMs > 0) await sleep(delayMs, undefined, { signal: closing.signal });
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
