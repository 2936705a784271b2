import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../src/json-body.js';
import { isErrorShape, rawConnect, secretsIn, startApi, type ApiKit, type RawResponse } from './api-kit.js';

// Fuzzing POST /v1/events: whatever the body or the headers, the answer is never a 5xx, every 4xx
// has the error shape, the process survives, and Object.prototype is untouched. Bodies go through
// app.inject (no socket needed to parse them); malformed headers through raw sockets, since no HTTP
// client sends them. fast-check prints the seed and the counterexample of a failing property.

const RUNS = 300;
const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

let kit: ApiKit;
const seen: string[] = [];
beforeAll(async () => {
  kit = await startApi();
});
afterAll(async () => {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(secretsIn(seen)).toEqual([]);
  expect(secretsIn(kit.logs)).toEqual([]);
  await kit[Symbol.asyncDispose]();
});

const MODES = {
  structured: { 'content-type': 'application/cloudevents+json' },
  batch: { 'content-type': 'application/cloudevents-batch+json' },
  json: { 'content-type': 'application/json' },
  binary: {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': 'fuzz',
    'ce-source': '/fuzz',
    'ce-type': 'fuzz.binary',
  },
} as const;
const mode = fc.constantFrom(...(Object.keys(MODES) as (keyof typeof MODES)[]));

/** Sends through inject and checks the invariants; returns the status. */
async function send(body: string | Buffer, headers: Record<string, string>): Promise<number> {
  const res = await kit.server.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { authorization: `Bearer ${kit.keys.ingest}`, ...headers },
    payload: body,
  });
  seen.push(res.body);
  expect(res.statusCode, res.body).toBeLessThan(500);
  if (res.statusCode >= 400) expect(isErrorShape(res.json()), res.body).toBe(true);
  return res.statusCode;
}

function checkRaw(res: RawResponse): void {
  seen.push(res.body);
  expect(res.status, res.head).toBeLessThan(500);
  if (res.status >= 400) expect(isErrorShape(JSON.parse(res.body)), res.body).toBe(true);
}

function event(data: string): string {
  return `{"specversion":"1.0","id":"f","source":"/fuzz","type":"fuzz.t","data":${data}}`;
}

describe('fuzzing bodies', () => {
  it('any text in any mode: never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(mode, fc.string({ unit: 'binary', maxLength: 300 }), async (m, text) => {
        await send(text, MODES[m]);
      }),
      { numRuns: RUNS },
    );
  });

  it('valid events cut, spliced and mutated: never a 5xx', async () => {
    const valid = event('{"a":[1,2,{"b":"c"}],"n":null}');
    await fc.assert(
      fc.asyncProperty(
        mode,
        fc.nat({ max: valid.length }),
        fc.nat({ max: valid.length }),
        fc.string({ maxLength: 8 }),
        async (m, from, to, insert) => {
          const [a, b] = from <= to ? [from, to] : [to, from];
          await send(valid.slice(0, a) + insert + valid.slice(b), MODES[m]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('deep nesting: accepted up to the limit, 400 beyond it, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 20_000 }), fc.boolean(), async (depth, arrays) => {
        const [open, close] = arrays ? ['[', ']'] : ['{"k":', '}'];
        const data = arrays
          ? `${open.repeat(depth)}${close.repeat(depth)}`
          : `${open.repeat(depth)}1${close.repeat(depth)}`;
        const status = await send(event(data), MODES.structured);
        // The envelope is one level; data adds `depth`.
        expect(status).toBe(depth + 1 <= MAX_JSON_DEPTH ? 202 : 400);
      }),
      { numRuns: 200 },
    );
  });

  it('huge and odd numbers in data and attributes: never a 5xx, data kept as sent', async () => {
    const number = fc.oneof(
      fc.bigInt({ min: -(10n ** 400n), max: 10n ** 400n }).map(String),
      fc
        .tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: -99_999, max: 99_999 }))
        .map(([m, e]) => `${m}e${e}`),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
      fc.constant('-0'),
    );
    await fc.assert(
      fc.asyncProperty(number, fc.boolean(), async (n, asExtension) => {
        const body = asExtension
          ? `{"specversion":"1.0","id":"f","source":"/fuzz","type":"fuzz.t","num":${n}}`
          : event(`{"n":${n}}`);
        await send(body, MODES.structured);
      }),
      { numRuns: RUNS },
    );
  });

  it('invalid UTF-8 anywhere: 400, never a 5xx', async () => {
    const valid = Buffer.from(event('{"text":"grüße ✓"}'));
    await fc.assert(
      fc.asyncProperty(
        mode,
        fc.nat({ max: valid.length }),
        fc.uint8Array({ minLength: 1, maxLength: 6 }),
        async (m, at, bytes) => {
          const body = Buffer.concat([valid.subarray(0, at), Buffer.from(bytes), valid.subarray(at)]);
          const status = await send(body, MODES[m]);
          if (!isUtf8(body) && m !== 'binary') expect(status).toBe(400);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('__proto__ and constructor.prototype keys: refused, nothing polluted', async () => {
    const key = fc.constantFrom('"__proto__"', '"__pro\\u0074o__"', '"constructor"');
    const payload = fc.constantFrom('{"polluted":1}', '{"prototype":{"polluted":1}}', '1');
    await fc.assert(
      fc.asyncProperty(mode, key, payload, fc.nat({ max: 3 }), async (m, k, v, depth) => {
        const inner = `{${k}:${v}}`;
        const data = `${'{"x":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;
        const body = m === 'batch' ? `[${event(data)}]` : m === 'binary' ? data : event(data);
        const status = await send(body, MODES[m]);
        const poisoned = k !== '"constructor"' || v.includes('prototype');
        if (poisoned) expect(status).toBe(400);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });
});

describe('fuzzing headers over raw sockets', () => {
  const head = (lines: string[], body: string): string =>
    `${['POST /v1/events HTTP/1.1', 'host: 127.0.0.1', ...lines, `content-length: ${Buffer.byteLength(body)}`].join('\r\n')}\r\n\r\n${body}`;

  async function exchange(request: string): Promise<RawResponse> {
    const conn = await rawConnect(kit.url);
    try {
      await conn.write(Buffer.from(request, 'latin1'));
      return await conn.response;
    } finally {
      conn.close();
    }
  }

  it('CR, LF and NUL inside header values: a 4xx or a normal answer, never a 5xx', async () => {
    const body = event('1');
    const evil = fc
      .tuple(
        fc.string({ maxLength: 10 }),
        fc.constantFrom('\r\n', '\r', '\n', '\0', '\r\nx-injected: 1', '\r\n\r\n'),
        fc.string({ maxLength: 10 }),
      )
      .map(([a, crlf, b]) => `${a}${crlf}${b}`);
    const where = fc.constantFrom(
      'ce-subject',
      'idempotency-key',
      'authorization',
      'content-type',
      'x-other',
    );
    await fc.assert(
      fc.asyncProperty(where, evil, async (name, value) => {
        const lines = [
          `authorization: Bearer ${kit.keys.ingest}`,
          'content-type: application/cloudevents+json',
        ].filter((l) => !l.startsWith(`${name}:`));
        const res = await exchange(head([...lines, `${name}: ${value}`], body));
        checkRaw(res);
      }),
      { numRuns: 200 },
    );
  });

  it('thousands of headers: 431 or an answer, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5_000 }), fc.boolean(), async (count, ce) => {
        const extra = Array.from({ length: count }, (_, i) => `${ce ? 'ce-x' : 'x-h'}${i}: v${i}`);
        const res = await exchange(
          head(
            [
              `authorization: Bearer ${kit.keys.ingest}`,
              'content-type: application/cloudevents+json',
              ...extra,
            ],
            event('1'),
          ),
        );
        checkRaw(res);
      }),
      { numRuns: 50 },
    );
  });

  it('still serves after all of it', async () => {
    expect((await kit.get('/v1/health')).status).toBe(200);
  });
});
