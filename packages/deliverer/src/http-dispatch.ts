import { Pool } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';

/** What one POST came to, as plain data. */
export type HttpResult =
  | {
      readonly ok: true;
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      readonly excerpt: string;
      readonly latencyMs: number;
    }
  | {
      readonly ok: false;
      readonly error: 'timeout' | 'network';
      readonly message: string;
      readonly latencyMs: number;
    };

/** Per-request settings. */
export interface PostOptions {
  readonly url: string;
  readonly body: Uint8Array;
  readonly headers: Record<string, string>;
  /** Whole-request budget: connect, headers and body, ms. */
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Budget for the response headers, ms (capped by `timeoutMs`). */
  readonly headersTimeoutMs: number;
  /** Bytes of the response body kept for diagnostics; the rest is discarded unread. */
  readonly excerptBytes: number;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * POSTs through one undici `Pool` per origin (keep-alive, no `fetch`: design.md §7). Redirects are
 * never followed — a Pool has no redirect handling, so a 3xx is simply a status.
 */
export class HttpDispatcher {
  readonly #pools = new Map<string, Pool>();
  readonly #connections: number;

  constructor(connectionsPerOrigin: number) {
    this.#connections = connectionsPerOrigin;
  }

  async post(o: PostOptions): Promise<HttpResult> {
    const url = new URL(o.url);
    const pool = this.#pool(url.origin, o.connectTimeoutMs);
    const started = performance.now();
    try {
      const res = await pool.request({
        method: 'POST',
        path: url.pathname + url.search,
        headers: o.headers,
        body: o.body,
        headersTimeout: Math.min(o.headersTimeoutMs, o.timeoutMs),
        bodyTimeout: o.timeoutMs,
        signal: AbortSignal.timeout(o.timeoutMs),
      });
      const excerpt = await readExcerpt(res.body, o.excerptBytes);
      return {
        ok: true,
        status: res.statusCode,
        headers: res.headers,
        excerpt,
        latencyMs: performance.now() - started,
      };
    } catch (err) {
      const e = err as { code?: string; name?: string; message?: string };
      const timeout = TIMEOUT_CODES.has(e.code ?? '') || e.name === 'TimeoutError' || e.name === 'AbortError';
      return {
        ok: false,
        error: timeout ? 'timeout' : 'network',
        message: `${e.code ?? e.name ?? 'Error'}: ${e.message ?? ''}`,
        latencyMs: performance.now() - started,
      };
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((p) => p.close()));
  }

  #pool(origin: string, connectTimeoutMs: number): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: this.#connections, connect: { timeout: connectTimeoutMs } });
      this.#pools.set(origin, pool);
    }
    return pool;
  }
}

async function readExcerpt(
  body: AsyncIterable<Buffer> & { destroy(): void },
  maxBytes: number,
): Promise<string> {
  if (maxBytes === 0) {
    for await (const _ of body) void _;
    return '';
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < maxBytes) {
      chunks.push(chunk.subarray(0, maxBytes - size));
      size += Math.min(chunk.length, maxBytes - size);
    }
    // Keep draining small bodies so the connection can be reused; a huge one is cut off.
    else if (size > maxBytes * 64) {
      body.destroy();
      break;
    } else size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}
