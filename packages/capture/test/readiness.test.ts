import { describe, expect, it } from 'vitest';
import type { KV } from '@nats-io/kv';
import { openLeases, type Config } from '@sluice/core';
import { recordingLogger, uniqueName, waitFor } from '@sluice/test-harness';
import { loadCheckpoint } from '../src/resume/checkpoint-store.js';
import { provision, serversForFile, startCapture, testConfig, waitForEvents } from './helpers.js';

// A first start begins at the end of the binlog, so a script must know when capture is ready: one
// `ready: capturing from <position>` line, and `ready`/`position` in the stats, once the position it
// streams from is stored. Every line is strict JSON: no key twice (the source id used to be).

const servers = serversForFile();

async function startWithLease(config: Config, checkpoints: KV) {
  const { logger, records } = recordingLogger();
  const leases = await openLeases(servers.nc, config.nats);
  const capture = await startCapture(servers.nc, config, checkpoints, { logger, leases });
  const readyLines = () => records.filter((r) => String(r.msg).startsWith('ready'));
  return Object.assign(capture, { records, readyLines });
}

describe('readiness', () => {
  it('stores the start position, then logs one ready line and reports it in the stats', async () => {
    const schema = uniqueName('ready');
    await servers.db.query(`CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY)`);
    const config = testConfig(servers.nats, servers.db, { source: { include: [schema] } });
    const { checkpoints } = await provision(servers.nc, config);
    // Written before the first start: behind the end of the binlog where capture begins.
    await servers.db.query(`INSERT INTO ${schema}.t VALUES (1)`);
    const [end] = await servers.db.query<{ File: string; Position: number }[]>('SHOW MASTER STATUS');

    await using capture = await startWithLease(config, checkpoints);
    await waitFor(() => capture.stats().ready, { message: 'capture ready' });
    // Durable before it said so: the checkpoint holds the position it became ready at.
    const stored = (await loadCheckpoint(checkpoints, 'src1'))!;
    expect(stored).toMatchObject({ file: end!.File, pos: Number(end!.Position) });
    const position = `${stored.gtid} (${stored.file}:${stored.pos})`;
    expect(stored.gtid).toMatch(/^\d+-\d+-\d+/);
    expect(capture.stats()).toMatchObject({ ready: true, position, role: 'active' });
    expect(capture.readyLines()).toEqual([
      expect.objectContaining({
        level: 30,
        msg: `ready: capturing from ${position}`,
        gtid: stored.gtid,
        file: stored.file,
        pos: stored.pos,
        sourceId: 'src1',
      }),
    ]);

    // Rows written after `ready` are captured; the one written before is not.
    await servers.db.query(`INSERT INTO ${schema}.t VALUES (2)`);
    const events = await waitForEvents(servers.nc, config, 1);
    expect(events.map((e) => e.event.subject)).toEqual(['2']);

    // A reconnect is not a new start: still one ready line.
    await servers.db.restart();
    await waitFor(() => capture.stats().reconnects >= 1, { timeoutMs: 60_000, message: 'reconnected' });
    await servers.db.query(`INSERT INTO ${schema}.t VALUES (3)`);
    await waitForEvents(servers.nc, config, 2, 30_000);
    expect(capture.readyLines()).toHaveLength(1);
    expect(capture.records.some((r) => r.msg === 'capture lease taken')).toBe(true);
    await capture.stop();

    // A restart resumes from its checkpoint and is ready from there.
    const cp = (await loadCheckpoint(checkpoints, 'src1'))!;
    await using again = await startWithLease(config, checkpoints);
    await waitFor(() => again.stats().ready, { message: 'ready again' });
    expect(again.readyLines()).toEqual([
      expect.objectContaining({ msg: `ready: capturing from ${cp.gtid} (${cp.file}:${cp.pos})` }),
    ]);
  }, 120_000);
});
