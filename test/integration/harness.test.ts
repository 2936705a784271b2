import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  parseStrictJson,
  startMysql,
  startNats,
  startReceiver,
  strictLogLines,
  uniqueName,
  waitFor,
} from '@sluice/test-harness';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startReceiver', () => {
  it('records every request and answers with the configured status and headers', async () => {
    await using hook = await startReceiver({
      status: (_req, index) => (index === 0 ? 503 : 200),
      headers: { 'retry-after': '1' },
    });
    const first = await fetch(`${hook.url}/hooks/orders?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1' },
      body: '{"a":"é"}',
    });
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('1');
    const second = await fetch(hook.url, { method: 'POST', body: '' });
    expect(second.status).toBe(200);

    const requests = await hook.waitFor(2, { timeoutMs: 2_000 });
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({
      method: 'POST',
      url: '/hooks/orders?x=1',
      headers: expect.objectContaining({ 'webhook-id': 'msg_1', 'content-type': 'application/json' }),
      body: '{"a":"é"}',
      receivedAt: expect.any(Number),
    });
    expect(requests[1]?.url).toBe('/');
  });

  it('answers 204 by default and delays the answer by delayMs', async () => {
    await using hook = await startReceiver({ delayMs: 200 });
    const sentAt = Date.now();
    const res = await fetch(hook.url, { method: 'POST', body: 'x' });
    expect(res.status).toBe(204);
    // Receipt is recorded before the delay, so the answer comes after it.
    expect(hook.requests[0]?.receivedAt).toBeGreaterThanOrEqual(sentAt);
    expect(Date.now() - (hook.requests[0]?.receivedAt ?? 0)).toBeGreaterThanOrEqual(190);
  });

  it('waitFor fails with a message naming what arrived', async () => {
    await using hook = await startReceiver();
    await expect(hook.waitFor(1, { timeoutMs: 100 })).rejects.toThrow(
      /got 0 request\(s\) in 100 ms; expected at least 1/,
    );
    await expect(hook.waitFor((rs) => rs.some((r) => r.body === 'x'), { timeoutMs: 50 })).rejects.toThrow(
      /expected a match for the predicate/,
    );
  });

  it('dispose closes the server while a delayed answer is pending', async () => {
    let url: string;
    let pending: Promise<unknown>;
    {
      await using hook = await startReceiver({ delayMs: 60_000 });
      url = hook.url;
      pending = fetch(url, { method: 'POST', body: 'x' }).catch((err: unknown) => err);
      await hook.waitFor(1);
    }
    expect(await pending).toBeInstanceOf(Error);
    await expect(fetch(url)).rejects.toThrow();
  });
});

describe('waitFor', () => {
  it('resolves once the predicate holds', async () => {
    let calls = 0;
    await waitFor(() => ++calls >= 3, { intervalMs: 1 });
    expect(calls).toBe(3);
  });

  it('throws with the message and the last error as cause on timeout', async () => {
    const boom = new Error('not yet');
    const err = await waitFor(
      () => {
        throw boom;
      },
      { timeoutMs: 50, message: 'the thing' },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('waitFor timed out after 50 ms: the thing (last error: not yet)');
    expect((err as Error).cause).toBe(boom);
  });

  it('does not wait past the deadline for a predicate that never settles', async () => {
    const never = new Promise<boolean>(() => undefined);
    await expect(waitFor(() => never, { timeoutMs: 50, message: 'hang' })).rejects.toThrow(
      /after 50 ms: hang/,
    );
  });
});

describe('uniqueName', () => {
  it('makes distinct names valid for NATS and MySQL', () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueName('orders')));
    expect(names.size).toBe(100);
    for (const name of names) expect(name).toMatch(/^orders[a-z0-9]+$/);
    expect(() => uniqueName('Bad.Prefix')).toThrow();
  });
});

describe('startNats', () => {
  it('serves JetStream, and dispose closes clients, stops the server and removes the directory', async () => {
    let dataDir: string;
    let pid: number;
    let nc: Awaited<ReturnType<Awaited<ReturnType<typeof startNats>>['connect']>>;
    {
      await using nats = await startNats();
      ({ dataDir } = nats);
      pid = nats.server.pid;
      expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
      nc = await nats.connect();
      const jsm = await jetstreamManager(nc);
      const name = uniqueName('s');
      await jsm.streams.add({ name, subjects: [`${name}.>`] });
      expect(existsSync(dataDir)).toBe(true);
    }
    expect(nc.isClosed()).toBe(true);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('restarts after a kill on the same port with streams kept', async () => {
    await using nats = await startNats();
    const name = uniqueName('s');
    const nc = await nats.connect();
    await (await jetstreamManager(nc)).streams.add({ name, subjects: [`${name}.>`] });
    await nc.close();
    const oldPid = nats.server.pid;
    await nats.kill();
    expect(isAlive(oldPid)).toBe(false);
    await nats.restart();
    expect(nats.server.port).toBe(nats.port);
    const jsm = await jetstreamManager(await nats.connect());
    expect((await jsm.streams.info(name)).config.name).toBe(name);
  });
});

describe('startMysql', () => {
  it('runs queries as root, and dispose stops the server and removes the directory', async () => {
    let dataDir: string;
    let pid: number;
    {
      await using db = await startMysql({ initSql: ['CREATE DATABASE shop'] });
      ({ dataDir } = db);
      pid = db.server.pid;
      const schema = uniqueName('db');
      await db.query(`CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY)`);
      await db.query(`INSERT INTO ${schema}.t VALUES (?), (?)`, [1, 2]);
      expect(await db.query(`SELECT COUNT(*) AS n FROM ${schema}.t`)).toEqual([{ n: 2 }]);
      expect(await db.query(`SHOW DATABASES LIKE 'shop'`)).toHaveLength(1);
    }
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('restarts after a kill on the same port with data and URLs kept', async () => {
    await using db = await startMysql();
    const { rootUrl, port } = db;
    await db.query(
      'CREATE DATABASE kept; CREATE TABLE kept.t (id INT PRIMARY KEY); INSERT INTO kept.t VALUES (1)',
    );
    await db.kill();
    await expect(db.query('SELECT 1')).rejects.toThrow();
    await db.restart();
    expect(db.server.port).toBe(port);
    expect(db.server.rootUrl).toBe(rootUrl);
    expect(await db.query('SELECT id FROM kept.t')).toEqual([{ id: 1 }]);
  });
});

describe('strict JSON log lines', () => {
  it('refuses a key repeated in one object, wherever it is, and nothing else', () => {
    expect(parseStrictJson('{"component":"a","x":{"component":"b"},"msg":"m"}')).toMatchObject({ msg: 'm' });
    expect(() => parseStrictJson('{"component":"a","msg":"m","component":"b"}')).toThrow(
      'duplicate key "component" in $',
    );
    expect(() => parseStrictJson('{"err":{"code":1,"code":2}}')).toThrow('duplicate key "code" in $.err');
    expect(() => parseStrictJson('[{"a":1},{"b":1,"b":2}]')).toThrow('in $[1]');
    // A quoted key inside a string value is text, not a key.
    expect(parseStrictJson('{"s":"\\"k\\":1","k":2}')).toEqual({ s: '"k":1', k: 2 });
    expect(() => parseStrictJson("{'a':1}")).toThrow();
  });

  it('takes the lines that start with { and quotes the first bad one', () => {
    expect(strictLogLines('banner\n{"msg":"a"}\n  verified\n{"msg":"b"}\n')).toEqual([
      { msg: 'a' },
      { msg: 'b' },
    ]);
    expect(() => strictLogLines('{"msg":"a","msg":"b"}')).toThrow(/duplicate key "msg".*\{"msg":"a"/);
  });
});
