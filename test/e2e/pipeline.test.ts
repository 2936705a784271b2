import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, test } from 'vitest';
import {
  spawnSluice,
  startMysql,
  startNats,
  startReceiver,
  uniqueName,
  type RecordedRequest,
} from '@sluice/test-harness';

function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function verified(secret: string, r: RecordedRequest): Record<string, unknown> {
  const headers = {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  };
  return new Webhook(secret).verify(r.body, headers) as Record<string, unknown>;
}

describe('sluice up: MySQL row → signed webhook', () => {
  test('INSERT, UPDATE and DELETE arrive as CloudEvents that verify with the standardwebhooks package', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    await using hook = await startReceiver();
    const schema = uniqueName('shop');
    await db.query(`CREATE DATABASE ${schema}`);
    await db.query(
      `CREATE TABLE ${schema}.orders (id BIGINT PRIMARY KEY, customer VARCHAR(50), total DECIMAL(10,2))`,
    );
    const secret = newSecret();
    await using sluice = await spawnSluice(['up'], {
      config: {
        nats: { url: nats.url, prefix: uniqueName('p') },
        sources: [{ id: 'shop', url: db.captureUrl, include: [schema] }],
        endpoints: [{ id: 'hook', url: hook.url, secret, allowNetworks: ['127.0.0.1/32'] }],
        subscriptions: [{ id: 'orders', endpoint: 'hook', types: [`mysql.${schema}.orders.*`] }],
      },
    });
    await sluice.waitForOutput('sluice is up');

    await db.query(`INSERT INTO ${schema}.orders VALUES (1, 'ada', 42.50)`);
    await db.query(`UPDATE ${schema}.orders SET total = 43.00 WHERE id = 1`);
    await db.query(`DELETE FROM ${schema}.orders WHERE id = 1`);
    await hook.waitFor(3, { timeoutMs: 20_000 });

    // Deliveries of one endpoint run concurrently: arrival order is not promised (only per-key
    // ordered subscriptions would promise it), so the events are looked up by operation.
    const received = hook.requests.map((r) => ({ r, e: verified(secret, r) }));
    const byOp = (op: string) => received.find(({ e }) => e.type === `mysql.${schema}.orders.${op}`);
    expect(received.map(({ e }) => e.type).sort()).toEqual(
      ['delete', 'insert', 'update'].map((op) => `mysql.${schema}.orders.${op}`),
    );
    for (const { r, e } of received) {
      expect(e).toMatchObject({
        specversion: '1.0',
        source: '/sluice/mysql/shop',
        subject: '1',
        datacontenttype: 'application/json',
      });
      expect(r.headers['webhook-id']).toBe(e.id);
      expect(r.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    }
    const events = ['insert', 'update', 'delete'].map((op) => byOp(op)!.e);
    expect(events[0]!.data).toMatchObject({
      op: 'insert',
      before: null,
      after: { id: '1', customer: 'ada', total: '42.50' },
    });
    expect(events[1]!.data).toMatchObject({
      op: 'update',
      before: { total: '42.50' },
      after: { total: '43.00' },
      changed: ['total'],
    });
    expect(events[2]!.data).toMatchObject({ op: 'delete', before: { id: '1' }, after: null });
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
  });

  test('a tampered body or a wrong secret does not verify', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    await using hook = await startReceiver();
    const schema = uniqueName('shop');
    await db.query(`CREATE DATABASE ${schema}`);
    await db.query(`CREATE TABLE ${schema}.t (id INT PRIMARY KEY)`);
    const secret = newSecret();
    await using sluice = await spawnSluice(['up'], {
      config: {
        nats: { url: nats.url, prefix: uniqueName('p') },
        sources: [{ id: 's', url: db.captureUrl, include: [schema] }],
        endpoints: [{ id: 'hook', url: hook.url, secret, allowNetworks: ['127.0.0.1/32'] }],
        subscriptions: [{ id: 'all', endpoint: 'hook', types: ['>'] }],
      },
    });
    await sluice.waitForOutput('sluice is up');
    await db.query(`INSERT INTO ${schema}.t VALUES (7)`);
    await hook.waitFor(1, { timeoutMs: 20_000 });
    const r = hook.requests[0]!;
    expect(() => verified(secret, r)).not.toThrow();
    expect(() => verified(newSecret(), r)).toThrow();
    expect(() => verified(secret, { ...r, body: r.body.replace('7', '8') })).toThrow();
  });
});
