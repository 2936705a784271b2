import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { openLeases } from '@sluice/core';
import {
  spawnSluice,
  startMysql,
  startNats,
  uniqueName,
  waitFor,
  type SluiceProcess,
} from '@sluice/test-harness';
import { leaseKey, mayTake, type LeaseRecord } from '../src/resume/capture-lease.js';
import { provision, readEvents, testConfig } from './helpers.js';

const TTL_MS = 1_500;

describe('mayTake', () => {
  const held: LeaseRecord = { owner: 'a', expiresAtMs: 10_000, acquiredAtMs: 0 };
  it('lets anyone take a lease nobody holds, and the holder keep its own', () => {
    expect(mayTake(undefined, 'b', 0, 500)).toBe(true);
    expect(mayTake(held, 'a', 9_000, 500)).toBe(true);
  });
  it('makes another process wait for the expiry plus the skew margin', () => {
    expect(mayTake(held, 'b', 10_000, 500)).toBe(false);
    expect(mayTake(held, 'b', 10_499, 500)).toBe(false);
    expect(mayTake(held, 'b', 10_500, 500)).toBe(true);
  });
});

describe('one active capturer per source', () => {
  it('a standby takes over from a paused holder, and the holder steps down without publishing on waking', async () => {
    await using nats = await startNats();
    await using db = await startMysql();
    const schema = uniqueName('lease');
    await db.query(`CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY, n INT)`);
    const config = testConfig(nats, db, {
      capture: { leaseTtlMs: TTL_MS, leaseSkewMs: 200 },
      source: { include: [schema] },
    });
    const nc = await nats.connect();
    await provision(nc, config);
    const leases = await openLeases(nc, config.nats);
    const holder = async (): Promise<string | undefined> => {
      const e = await leases.get(leaseKey('src1'));
      return e?.operation === 'PUT' ? (JSON.parse(e.string()) as LeaseRecord).owner : undefined;
    };
    const file = { ...config, logging: { level: 'info', pretty: false } };
    let id = 0;
    const insert = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await db.query(`INSERT INTO ${schema}.t VALUES (${++id}, ${id})`);
    };

    await using a = await spawnSluice(['capture'], { config: file });
    await a.waitForOutput('sluice is up');
    await waitFor(async () => (await holder()) !== undefined, { message: 'a holds the lease' });
    const first = await holder();
    await using b = await spawnSluice(['capture'], { config: file });
    await b.waitForOutput('sluice is up');
    await b.waitForOutput('standing by');
    expect(await holder()).toBe(first);

    await insert(20);
    await waitFor(async () => (await readEvents(nc, config)).length === 20, { message: '20 rows from a' });

    // Freeze the holder past its lease: the standby must take over and capture what comes next.
    pause(a);
    try {
      await waitFor(async () => (await holder()) !== first, {
        timeoutMs: 20_000,
        message: 'b took the lease',
      });
      await insert(20);
      await waitFor(async () => (await readEvents(nc, config)).length === 40, { message: '40 rows' });
    } finally {
      resume(a);
    }
    // Awake again, a finds its lease gone by its own clock and stands down; more rows go through b alone.
    await a.waitForOutput(/lease (lost|ran out)/, 20_000);
    await insert(20);
    await waitFor(async () => (await readEvents(nc, config)).length >= 60, { message: '60 rows' });
    // Long enough for anything a would still publish to have arrived.
    await sleep(TTL_MS);

    const events = await readEvents(nc, config);
    const ids = events.map((e) => Number((e.event.data.after as { id: string }).id));
    expect(ids).toEqual(Array.from({ length: 60 }, (_, i) => i + 1)); // none lost, none twice, in order
    expect(await holder()).not.toBe(first);
    expect(a.stdout() + a.stderr()).toContain('SLUICE_LEASE_LOST');
    await nc.close();
  });
});

function pause(p: SluiceProcess): void {
  p.child.kill('SIGSTOP');
}

function resume(p: SluiceProcess): void {
  p.child.kill('SIGCONT');
}
