import { describe, expect, it } from 'vitest';
import type { Config } from '@sluice/core';
import type { KV } from '@nats-io/kv';
import { recordingLogger, uniqueName } from '@sluice/test-harness';
import { loadCheckpoint } from '../src/resume/checkpoint-store.js';
import { provision, readEvents, serversForFile, startCapture, testConfig, waitForEvents } from './helpers.js';

// A session that switches itself to statement-based logging writes its INSERT/UPDATE/DELETE to the
// binlog as SQL text: capture sees a query event and no rows. By default that stops capture with
// SLUICE_BINLOG_STATEMENT_DML before its checkpoint passes the statement; `capture.onStatementDml: skip`
// warns and goes on.

const servers = serversForFile();

/** Runs `sql` on one connection logged with binlog_format=STATEMENT, and puts the connection back. */
const asStatement = (sql: string) =>
  servers.db.query(`SET SESSION binlog_format = 'STATEMENT'; ${sql}; SET SESSION binlog_format = 'ROW'`);

async function setup(capture: Record<string, unknown> = {}) {
  const schema = uniqueName('stmt');
  const other = uniqueName('other'); // not captured
  await servers.db.query(`CREATE DATABASE ${schema}; CREATE TABLE ${schema}.t (id INT PRIMARY KEY);
    CREATE DATABASE ${other}; CREATE TABLE ${other}.x (id INT PRIMARY KEY)`);
  const config = testConfig(servers.nats, servers.db, { source: { include: [schema] }, capture });
  const { checkpoints } = await provision(servers.nc, config);
  return { schema, other, config, checkpoints };
}

async function startRecorded(config: Config, checkpoints: KV) {
  const { logger, records } = recordingLogger();
  const capture = await startCapture(servers.nc, config, checkpoints, { logger });
  return Object.assign(capture, { records });
}

/** The sequence number of a MariaDB GTID position of domain 0 (`0-1-42` → 42). */
const seqOf = (gtid: string | undefined): number => Number(/(?:^|,)0-\d+-(\d+)/.exec(gtid ?? '')?.[1] ?? 0);

describe('statement-based DML', () => {
  it('stops capture with SLUICE_BINLOG_STATEMENT_DML by default, its checkpoint before the statement', async () => {
    const { schema, other, config, checkpoints } = await setup();
    await using capture = await startRecorded(config, checkpoints);
    await servers.db.query(`INSERT INTO ${schema}.t VALUES (1)`);
    await asStatement(`INSERT INTO ${other}.x VALUES (1)`); // a table the source does not capture
    await servers.db.query(`INSERT INTO ${schema}.t VALUES (2)`);
    await waitForEvents(servers.nc, config, 2);
    const [row] = await servers.db.query<{ pos: string }[]>('SELECT @@gtid_binlog_pos AS pos');
    const before = row!.pos;

    await asStatement(`INSERT INTO ${schema}.t VALUES (3)`);
    await servers.db.query(`INSERT INTO ${schema}.t VALUES (4)`);
    await expect(capture.done).rejects.toMatchObject({
      code: 'SLUICE_BINLOG_STATEMENT_DML',
      details: { verb: 'INSERT', tables: [`${schema}.t`] },
    });
    expect((await readEvents(servers.nc, config)).map((e) => e.event.subject)).toEqual(['1', '2']);
    const checkpoint = await loadCheckpoint(checkpoints, 'src1');
    expect(seqOf(checkpoint?.gtid)).toBeLessThanOrEqual(seqOf(before));

    // Every restart stops at the same statement: nothing after it was ever checkpointed.
    await using again = await startRecorded(config, checkpoints);
    await expect(again.done).rejects.toMatchObject({ code: 'SLUICE_BINLOG_STATEMENT_DML' });
    expect(await readEvents(servers.nc, config)).toHaveLength(2);
  });

  it('warns and goes on with capture.onStatementDml: skip, the following rows still captured', async () => {
    const { schema, config, checkpoints } = await setup({ onStatementDml: 'skip' });
    await using capture = await startRecorded(config, checkpoints);
    await servers.db.query(`INSERT INTO ${schema}.t VALUES (1)`);
    await asStatement(`UPDATE ${schema}.t SET id = 10 WHERE id = 1`);
    await servers.db.query(`INSERT INTO ${schema}.t VALUES (2)`);
    const events = await waitForEvents(servers.nc, config, 2);
    expect(events.map((e) => `${e.event.data.op}:${e.event.subject}`)).toEqual(['insert:1', 'insert:2']);
    expect(capture.stats().statementDml).toBe(1);
    expect(capture.records.filter((r) => r.code === 'SLUICE_BINLOG_STATEMENT_DML')).toEqual([
      expect.objectContaining({
        level: 40,
        tables: [`${schema}.t`],
        statement: `UPDATE ${schema}.t SET id = 10 WHERE id = 1`,
      }),
    ]);
    await capture.stop();
    await expect(capture.done).resolves.toBeUndefined();
  });
});
