import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { request } from 'undici';
import { stringify } from 'yaml';
import {
  ApiKeyStore,
  buildConfig,
  connectNats,
  createLogger,
  eventsStream,
  openApiKeys,
  provisionStreams,
  type Config,
} from '@sluice/core';
import { createApiServer, type ApiServer } from '../src/server.js';
import { startNats, storedMessages, type TestNats } from '@sluice/test-harness';

// Shared by the API integration tests: a nats-server, the API server on a free loopback port, one key
// of each scope, and a record of every response body and log line, so that a test can check that no
// secret ever left the server.

/** What {@link startApi} starts; dispose stops all of it. */
export interface ApiKit {
  readonly nats: TestNats;
  readonly config: Config;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly server: ApiServer;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly store: ApiKeyStore;
  /** One key of each scope, created before the server started. */
  readonly keys: { readonly ingest: string; readonly read: string; readonly admin: string };
  /** Every log line the server wrote. */
  readonly logs: string[];
  /** Every response body received through {@link ApiKit.post} / {@link ApiKit.get}. */
  readonly bodies: string[];
  /** POST over a real socket; returns the status and the parsed body. */
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<ApiResponse>;
  get(path: string, headers?: Record<string, string>): Promise<ApiResponse>;
  /** Every message of the events stream, oldest first. */
  storedEvents(): Promise<StoredMsg[]>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A response as the tests look at it. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: unknown;
}

/** Starts nats-server and the API server with `api` and `nats` settings merged over test defaults. */
export async function startApi(
  settings: { api?: Record<string, unknown>; nats?: Record<string, unknown>; endpoints?: unknown[] } = {},
): Promise<ApiKit> {
  const nats = await startNats();
  const logs: string[] = [];
  const bodies: string[] = [];
  try {
    const config = buildConfig(
      stringify({
        nats: { url: nats.url, partitions: 4, ...settings.nats },
        logging: { level: 'debug' },
        api: { port: 0, ...settings.api },
        ...(settings.endpoints ? { endpoints: settings.endpoints } : {}),
      }),
      {},
    );
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const logger = createLogger(config.logging, sink);
    const { nc, jsm } = await connectNats(config.nats, { name: 'api-test' });
    await provisionStreams(jsm, config.nats);
    const store = new ApiKeyStore(await openApiKeys(nc, config.nats));
    const keys = {
      ingest: (await store.create('ingest', 'test ingest', Date.now())).key,
      read: (await store.create('read', 'test read', Date.now())).key,
      admin: (await store.create('admin', undefined, Date.now())).key,
    };
    const server = await createApiServer({ config, logger, nc });
    const url = await server.listen();
    const call = async (
      method: 'GET' | 'POST',
      path: string,
      body: string | Buffer | undefined,
      headers: Record<string, string> = {},
    ): Promise<ApiResponse> => {
      const res = await request(`${url}${path}`, { method, headers, body });
      const text = await res.body.text();
      bodies.push(text);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, headers: res.headers, text, json };
    };
    return {
      nats,
      config,
      nc,
      jsm,
      server,
      url,
      store,
      keys,
      logs,
      bodies,
      post: (path, body, headers) => call('POST', path, body, headers),
      get: (path, headers) => call('GET', path, undefined, headers),
      storedEvents: () => storedMessages(jsm, eventsStream(config.nats)),
      async [Symbol.asyncDispose]() {
        try {
          await server.close();
          await nc.close();
        } finally {
          await nats[Symbol.asyncDispose]();
        }
      },
    };
  } catch (err) {
    await nats[Symbol.asyncDispose]();
    throw err;
  }
}

/** Headers of a request authorised with `key`, plus `extra`. */
export function auth(key: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${key}`, ...extra };
}

/** Fails when a secret (an API key, a signing secret) appears in any of `texts`. */
export function secretsIn(texts: readonly string[]): string[] {
  return texts.filter((t) => /slk_|whsec_/.test(t));
}

/** True when `body` has the API's error shape with a catalog-looking code. */
export function isErrorShape(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const e = (body as { error?: unknown }).error as { code?: unknown; message?: unknown } | undefined;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.code === 'string' &&
    /^SLUICE_[A-Z0-9_]+$/.test(e.code) &&
    typeof e.message === 'string'
  );
}

/** A response read off a raw socket by {@link RawConnection}. */
export interface RawResponse {
  readonly status: number;
  readonly head: string;
  readonly body: string;
}

/** A raw TCP connection to the API, for requests no HTTP client would send. */
export interface RawConnection {
  readonly socket: Socket;
  /** Resolves with the first complete response (status line, headers, Content-Length body). */
  readonly response: Promise<RawResponse>;
  /** True once a complete response has arrived. */
  answered(): boolean;
  /** Bytes written so far through {@link RawConnection.write}. */
  written(): number;
  /** Writes, waiting for the socket to drain; false when the socket is gone. */
  write(chunk: string | Buffer): Promise<boolean>;
  close(): void;
}

/** Opens a raw connection to `url` (`http://127.0.0.1:<port>`). */
export async function rawConnect(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {}); // resets after the server closed are expected
  let data = Buffer.alloc(0);
  let done = false;
  let sent = 0;
  const response = new Promise<RawResponse>((resolve, reject) => {
    const tryParse = (final: boolean): void => {
      const text = data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = text.slice(0, end);
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 'NaN');
        const bodyBytes = data.subarray(end + 4);
        if (Number.isFinite(length) ? bodyBytes.length >= length : final) {
          done = true;
          resolve({
            status: Number(head.slice(9, 12)),
            head,
            body: bodyBytes.subarray(0, Number.isFinite(length) ? length : undefined).toString('utf8'),
          });
          return;
        }
      }
      if (final) reject(new Error(`connection closed without a complete response: ${JSON.stringify(text)}`));
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (!done) tryParse(false);
    });
    socket.once('close', () => {
      if (!done) tryParse(true);
    });
  });
  response.catch(() => {});
  return {
    socket,
    response,
    answered: () => done,
    written: () => sent,
    async write(chunk) {
      if (socket.destroyed || !socket.writable) return false;
      const ok = socket.write(chunk);
      sent += Buffer.byteLength(chunk);
      if (!ok)
        await new Promise<void>((resolve) => {
          socket.once('drain', resolve);
          socket.once('close', resolve);
        });
      return !socket.destroyed;
    },
    close: () => socket.destroy(),
  };
}
