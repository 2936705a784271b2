import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@sluice/test-harness';
import { isErrorShape, rawConnect, secretsIn, startApi, type ApiKit, type RawResponse } from './api-kit.js';

// api.bodyLimitBytes is enforced while reading: a 10 MB Content-Length is refused before any body
// byte is sent, and a chunked 10 MB body is cut off near the limit; the server stays healthy.

const TEN_MB = 10 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

let kit: ApiKit;
const raw: string[] = [];
beforeAll(async () => {
  kit = await startApi();
});
afterAll(async () => {
  expect(secretsIn([...kit.bodies, ...raw])).toEqual([]);
  expect(secretsIn(kit.logs)).toEqual([]);
  await kit[Symbol.asyncDispose]();
});

function head(lines: string[]): string {
  return `${['POST /v1/events HTTP/1.1', 'host: 127.0.0.1', ...lines].join('\r\n')}\r\n\r\n`;
}

function errorCode(res: RawResponse): string {
  raw.push(res.head, res.body);
  const body = JSON.parse(res.body) as unknown;
  expect(isErrorShape(body)).toBe(true);
  return (body as { error: { code: string } }).error.code;
}

async function healthy(): Promise<void> {
  expect((await kit.get('/v1/health')).status).toBe(200);
  const ok = await kit.post(
    '/v1/events',
    JSON.stringify({ specversion: '1.0', id: `after-${Math.random()}`, source: '/s', type: 't.t' }),
    { authorization: `Bearer ${kit.keys.ingest}`, 'content-type': 'application/cloudevents+json' },
  );
  expect(ok.status).toBe(202);
}

describe('body limit', () => {
  it('answers a 10 MB Content-Length with 413 before a single body byte is sent', async () => {
    const rssBefore = process.memoryUsage().rss;
    const conn = await rawConnect(kit.url);
    try {
      await conn.write(
        head([
          `authorization: Bearer ${kit.keys.ingest}`,
          'content-type: application/cloudevents+json',
          `content-length: ${TEN_MB}`,
        ]),
      );
      const res = await conn.response;
      expect(res.status).toBe(413);
      expect(errorCode(res)).toBe('SLUICE_INGEST_TOO_LARGE');
      expect(res.head).toMatch(/\r\nconnection: close/i);
      // The answer came with nothing of the body written: it cannot have been buffered.
      expect(conn.written()).toBeLessThan(1024);
      // What the client sends afterwards goes nowhere: the server closed the connection.
      for (let sent = 0; sent < TEN_MB; sent += CHUNK.length) if (!(await conn.write(CHUNK))) break;
      await waitFor(() => conn.socket.destroyed || conn.socket.readableEnded, { message: 'server close' });
    } finally {
      conn.close();
    }
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    await healthy();
  });

  it('cuts a chunked 10 MB body off near the limit with 413', async () => {
    const rssBefore = process.memoryUsage().rss;
    const conn = await rawConnect(kit.url);
    try {
      await conn.write(
        head([
          `authorization: Bearer ${kit.keys.ingest}`,
          'content-type: application/cloudevents+json',
          'transfer-encoding: chunked',
        ]),
      );
      const frame = Buffer.concat([
        Buffer.from(`${CHUNK.length.toString(16)}\r\n`),
        CHUNK,
        Buffer.from('\r\n'),
      ]);
      for (let sent = 0; sent < TEN_MB && !conn.answered(); sent += CHUNK.length)
        if (!(await conn.write(frame))) break;
      const res = await conn.response;
      expect(res.status).toBe(413);
      expect(errorCode(res)).toBe('SLUICE_INGEST_TOO_LARGE');
      // The limit is 1 MiB; socket buffers on loopback hold a few MB more at most.
      expect(conn.written()).toBeLessThan(TEN_MB);
    } finally {
      conn.close();
    }
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    await healthy();
  });

  it('refuses a 10 MB upload without a key with 401 before reading it', async () => {
    const conn = await rawConnect(kit.url);
    try {
      await conn.write(head(['content-type: application/cloudevents+json', `content-length: ${TEN_MB}`]));
      const res = await conn.response;
      expect(res.status).toBe(401);
      expect(errorCode(res)).toBe('SLUICE_AUTH_REQUIRED');
      expect(res.head).toMatch(/\r\nconnection: close/i);
      expect(conn.written()).toBeLessThan(1024);
    } finally {
      conn.close();
    }
    await healthy();
  });

  it('stores a 900 KB event, and answers 413 for one under the body limit that NATS cannot hold', async () => {
    const post = (dataBytes: number): Promise<{ status: number; json: unknown }> =>
      kit.post(
        '/v1/events',
        JSON.stringify({
          specversion: '1.0',
          id: `big-${Math.random()}`,
          source: '/s',
          type: 't.t',
          data: 'x'.repeat(dataBytes),
        }),
        { authorization: `Bearer ${kit.keys.ingest}`, 'content-type': 'application/cloudevents+json' },
      );
    expect((await post(900 * 1024)).status).toBe(202);
    // Within api.bodyLimitBytes (1 MiB) but, with the envelope and headers, over the server's 1 MiB
    // max_payload: the documented 413, never a 5xx.
    const tooBig = await post(kit.config.api.bodyLimitBytes - 400);
    expect(tooBig.status).toBe(413);
    expect((tooBig.json as { error: { code: string } }).error.code).toBe('SLUICE_INGEST_TOO_LARGE');
  });
});
