import { createConnection } from 'mysql2/promise';
import { describe, expect, test } from 'vitest';
import { spawnSluice } from '@sluice/test-harness';

/**
 * README command 1 without the install step: `sluice up` with no configuration starts its own
 * nats-server and mariadbd under ./.sluice, plus the demo receiver, and a typed INSERT is printed.
 */
describe('quick start: sluice up with the bundled configuration', () => {
  test('an INSERT into shop.orders is printed by the demo receiver, verified', async () => {
    await using sluice = await spawnSluice(['up']);
    await sluice.waitForOutput('Stop with Ctrl-C', 60_000);
    const socket = /--socket=(\S+)/.exec(sluice.stdout())?.[1];
    expect(socket).toBeDefined();
    const conn = await createConnection({ socketPath: socket!, user: 'root', database: 'shop' });
    try {
      await conn.query("INSERT INTO orders (customer, total) VALUES ('ada', 42.50)");
    } finally {
      await conn.end();
    }
    await sluice.waitForOutput(/verified mysql\.shop\.orders\.insert/, 20_000);
    expect(sluice.stdout()).toContain('"customer":"ada"');
    expect(await sluice.stop()).toBe(0);
  });
});
