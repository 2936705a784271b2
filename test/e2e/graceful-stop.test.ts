import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, test } from 'vitest';
import { spawnSluice, startMysql, startNats, startReceiver, uniqueName, waitFor } from '@sluice/test-harness';

const ROWS = 3_000;

/**
 * A graceful stop (SIGTERM) in the middle of a burst settles everything it pulled: no event or
 * delivery is left ack-pending, where it would wait out ack_wait before anyone else could take it.
 * The next start delivers the rest.
 */
describe('graceful stop of sluice up in the middle of a burst', () => {
  test('leaves nothing ack-pending, and a restart delivers every row', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    await using hook = await startReceiver();
    const schema = uniqueName('stop');
    await db.query(`CREATE DATABASE ${schema}`);
    await db.query(`CREATE TABLE ${schema}.t (id INT PRIMARY KEY, v VARCHAR(20))`);
    const prefix = uniqueName('p');
    const config = {
      nats: { url: nats.url, prefix },
      logging: { level: 'warn' },
      sources: [{ id: 's', url: db.captureUrl, include: [schema] }],
      endpoints: [
        {
          id: 'hook',
          url: hook.url,
          secret: `whsec_${randomBytes(32).toString('base64')}`,
          allowNetworks: ['127.0.0.1/32'],
        },
      ],
      subscriptions: [{ id: 'all', endpoint: 'hook', types: ['>'] }],
    };
    const first = await spawnSluice(['up'], { config });
    await first.waitForOutput('sluice is up');
    const values = Array.from({ length: ROWS }, (_, i) => `(${i + 1}, 'v${i + 1}')`).join(',');
    await db.query(`INSERT INTO ${schema}.t VALUES ${values}`);
    await hook.waitFor(1, { timeoutMs: 30_000 });
    expect(await first.stop()).toBe(0);

    const nc = await nats.connect();
    const jsm = await jetstreamManager(nc);
    const pendingAcks: Record<string, number> = {};
    for (const stream of [`${prefix.toUpperCase()}_EVENTS`, `${prefix.toUpperCase()}_DELIVERIES`]) {
      for await (const c of jsm.consumers.list(stream))
        pendingAcks[`${stream}/${c.name}`] = c.num_ack_pending;
    }
    expect(Object.keys(pendingAcks).length).toBeGreaterThan(1);
    expect(
      Object.values(pendingAcks).every((n) => n === 0),
      JSON.stringify(pendingAcks),
    ).toBe(true);

    await using second = await spawnSluice(['up'], { config });
    await second.waitForOutput('sluice is up');
    const rowOf = (body: string): number =>
      (JSON.parse(body) as { data: { after: { id: number } } }).data.after.id;
    await waitFor(() => new Set(hook.requests.map((r) => rowOf(r.body))).size === ROWS, {
      timeoutMs: 60_000,
      message: `all ${ROWS} rows delivered after the restart`,
    });
  });
});
