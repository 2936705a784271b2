import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  spawnSluice,
  startMysql,
  startNats,
  startReceiver,
  uniqueName,
  waitFor,
  type SluiceProcess,
} from '@sluice/test-harness';

const ROWS = 5_000;
const BATCH = 10;

/**
 * I1 + I2 across a crash: `kill -9` of `sluice up` while rows are being written loses nothing, and
 * a row delivered twice carries the same webhook-id both times.
 */
describe('crash: kill -9 of sluice up while 5,000 rows are written', () => {
  test('every row is delivered at least once and duplicates share their webhook-id', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    await using hook = await startReceiver();
    const schema = uniqueName('crash');
    await db.query(`CREATE DATABASE ${schema}`);
    await db.query(`CREATE TABLE ${schema}.rows_ (id INT PRIMARY KEY, note VARCHAR(40))`);
    const config = {
      nats: { url: nats.url, prefix: uniqueName('p') },
      logging: { level: 'warn' },
      // Short ack waits so that work in flight at the kill is redelivered within seconds.
      router: { ackWaitMs: 2_000 },
      deliverer: { ackWaitMs: 2_000, retrySchedule: [0, 100, 200, 500, 1_000, 1_000] },
      sources: [{ id: 'crash', url: db.captureUrl, include: [schema] }],
      endpoints: [
        {
          id: 'hook',
          url: hook.url,
          secret: `whsec_${randomBytes(32).toString('base64')}`,
          allowNetworks: ['127.0.0.1/32'],
        },
      ],
      subscriptions: [{ id: 'all', endpoint: 'hook', types: [`mysql.${schema}.>`] }],
    };

    let first: SluiceProcess | undefined = await spawnSluice(['up'], { config });
    let second: SluiceProcess | undefined;
    try {
      await first.waitForOutput('sluice is up');
      let written = 0;
      let killed = false;
      let restarted = false;
      const writer = (async () => {
        for (let id = 1; id <= ROWS; id += BATCH) {
          // Hold at fixed points so the kill lands mid-stream and the restart happens while rows
          // are still being written, whatever the speed of this machine.
          if (id > ROWS / 2) await waitFor(() => killed, { timeoutMs: 60_000, message: 'sluice killed' });
          if (id > (ROWS * 7) / 10)
            await waitFor(() => restarted, { timeoutMs: 60_000, message: 'sluice restarted' });
          const values = Array.from({ length: BATCH }, (_, i) => `(${id + i}, 'row ${id + i}')`).join(',');
          await db.query(`INSERT INTO ${schema}.rows_ VALUES ${values}`);
          written = id + BATCH - 1;
        }
      })();

      await hook.waitFor(200, { timeoutMs: 60_000 });
      await first.kill();
      killed = true;
      await waitFor(() => written >= (ROWS * 7) / 10, {
        timeoutMs: 60_000,
        message: 'rows written while sluice was down',
      });
      second = await spawnSluice(['up'], { config });
      await second.waitForOutput('sluice is up');
      restarted = true;
      await writer;

      const rowOf = (body: string): number =>
        (JSON.parse(body) as { data: { after: { id: number } } }).data.after.id;
      await waitFor(() => new Set(hook.requests.map((r) => rowOf(r.body))).size >= ROWS, {
        timeoutMs: 120_000,
        message: `all ${ROWS} rows delivered`,
      });

      const idsByRow = new Map<number, Set<string>>();
      for (const r of hook.requests) {
        const row = rowOf(r.body);
        const ids = idsByRow.get(row) ?? new Set<string>();
        ids.add(String(r.headers['webhook-id']));
        idsByRow.set(row, ids);
      }
      expect(idsByRow.size).toBe(ROWS);
      for (let id = 1; id <= ROWS; id++) expect(idsByRow.get(id)?.size, `row ${id}`).toBe(1);
      // Distinct rows never share an id.
      const allIds = new Set([...idsByRow.values()].flatMap((s) => [...s]));
      expect(allIds.size).toBe(ROWS);
    } finally {
      await first?.kill();
      await second?.stop();
      first = undefined;
    }
  });
});
