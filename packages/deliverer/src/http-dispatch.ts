import { Pool } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { NetworkPolicy } from '@sluice/core';
import { guardedLookup, serverResolve, systemResolve, type Resolve } from './address-guard.js';

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
      /**
       * `blocked`: the network policy refused the endpoint's URL or every connection to it; nothing
       * was sent (docs/network-policy.md).
       */
      readonly error: 'timeout' | 'network' | 'blocked';
      readonly message: string;
      readonly latencyMs: number;
      /**
       * Retrying cannot help: the URL itself is refused (scheme, credentials or a literal address), as
       * opposed to what its host name resolves to now.
       */
      readonly permanent?: boolean;
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
  /** Networks the endpoint may reach beyond public unicast (its own and the deliverer's). @default none */
  readonly allowNetworks?: readonly string[];
}

/** Options of {@link HttpDispatcher}. */
export interface DispatcherOptions {
  /** DNS servers to resolve endpoint hosts with (`ip`, `ip:port`, `[ipv6]:port`). @default the system resolver */
  readonly dnsServers?: readonly string[];
}

/** What is known about one endpoint URL under one allow-list: checked once, reused by every request. */
type Route =
  { readonly pool: Pool; readonly path: string; readonly refused?: undefined } | { readonly refused: string };

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * POSTs through one undici `Pool` per origin and allow-list (keep-alive, no `fetch`: see
 * "Performance rules" in docs/architecture.md).
 * Redirects are never followed — a Pool has no redirect handling, so a 3xx is simply a status.
 *
 * The network policy is enforced here, at connect time: each URL is checked once (scheme,
 * credentials, a literal address), and each Pool connects through {@link guardedLookup}, which checks
 * every address a host name resolves to whenever a new connection opens. A request costs one map
 * lookup more than before; a keep-alive connection stays on the address checked when it opened.
 */
export class HttpDispatcher {
  readonly #pools = new Map<string, Pool>();
  readonly #routes = new Map<string, Route>();
  readonly #policies = new Map<string, NetworkPolicy>();
  readonly #connections: number;
  readonly #resolve: Resolve;

  constructor(connectionsPerOrigin: number, options: DispatcherOptions = {}) {
    this.#connections = connectionsPerOrigin;
    const servers = options.dnsServers;
    this.#resolve = servers !== undefined && servers.length > 0 ? serverResolve(servers) : systemResolve;
  }

  async post(o: PostOptions): Promise<HttpResult> {
    const route = this.#route(o.url, o.allowNetworks ?? [], o.connectTimeoutMs);
    if (route.refused !== undefined)
      return { ok: false, error: 'blocked', permanent: true, message: route.refused, latencyMs: 0 };
    const started = performance.now();
    try {
      const res = await route.pool.request({
        method: 'POST',
        path: route.path,
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
      const blocked = e.code === 'SLUICE_ENDPOINT_URL_BLOCKED';
      return {
        ok: false,
        error: blocked ? 'blocked' : timeout ? 'timeout' : 'network',
        message: `${e.code ?? e.name ?? 'Error'}: ${e.message ?? ''}`,
        latencyMs: performance.now() - started,
      };
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    this.#routes.clear();
    await Promise.allSettled(pools.map((p) => p.close()));
  }

  // Endpoints are few and configured: one route per URL and allow-list, kept for the process's life.
  #route(urlText: string, allowNetworks: readonly string[], connectTimeoutMs: number): Route {
    const allowKey = allowNetworks.join(',');
    const key = `${allowKey} ${urlText}`;
    let route = this.#routes.get(key);
    if (route === undefined) {
      const policy = this.#policy(allowKey, allowNetworks);
      const verdict = policy.checkUrl(urlText);
      if (!verdict.ok) route = { refused: `SLUICE_ENDPOINT_URL_BLOCKED: ${verdict.message}` };
      else {
        const { url } = verdict;
        route = {
          pool: this.#pool(url.origin, allowKey, policy, connectTimeoutMs),
          path: url.pathname + url.search,
        };
      }
      this.#routes.set(key, route);
    }
    return route;
  }

  #policy(allowKey: string, allowNetworks: readonly string[]): NetworkPolicy {
    let policy = this.#policies.get(allowKey);
    if (policy === undefined) {
      policy = new NetworkPolicy(allowNetworks);
      this.#policies.set(allowKey, policy);
    }
    return policy;
  }

  // One Pool per origin and allow-list: the lookup that guards a Pool's connections enforces one policy.
  #pool(origin: string, allowKey: string, policy: NetworkPolicy, connectTimeoutMs: number): Pool {
    const key = `${allowKey} ${origin}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.#connections,
        connect: { timeout: connectTimeoutMs, lookup: guardedLookup(policy, this.#resolve) },
      });
      this.#pools.set(key, pool);
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
