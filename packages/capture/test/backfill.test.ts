import { createConnection } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import type { KV } from '@nats-io/kv';
import { isSluiceError, mysqlSources, openBackfill, type Config } from '@sluice/core';
import { uniqueName, waitFor } from '@sluice/test-harness';
import { Backfill, type BackfillOptions } from '../src/backfill/backfill.js';
import { loadCheckpoint } from '../src/resume/checkpoint-store.js';
import { readEventId } from '../src/backfill/backfill-event.js';
import type { BackfillRun } from '../src/backfill/backfill-progress.js';
import { ProgressStore, newRun } from '../src/backfill/backfill-progress.js';
import {
  ofTable,
  provision,
  readEvents,
  startCapture,
  testConfig,
  testLogger,
  waitForEvents,
  serversForFile,
} from './helpers.js';

const servers = serversForFile();

/** A schema with `ddl`, a running capture of it, and a checkpoint already stored. */
async function setup(ddl: string) {
  const schema = uniqueName('bf');
  await servers.db.query(`CREATE DATABASE ${schema}; ${ddl.replaceAll('$db', schema)}`);
  const config = testConfig(servers.nats, servers.db, { source: { include: [schema] } });
  const { checkpoints } = await provision(servers.nc, config);
  const capture = await startCapture(servers.nc, config, checkpoints);
  await servers.db.query(
    `CREATE TABLE ${schema}.marker (id INT PRIMARY KEY); INSERT INTO ${schema}.marker VALUES (1)`,
  );
  await waitFor(async () => (await loadCheckpoint(checkpoints, 'src1')) !== undefined, {
    timeoutMs: 20_000,
    message: 'first checkpoint',
  });
  const progress = await openBackfill(servers.nc, config.nats);
  return { schema, config, capture, checkpoints, progress };
}

function backfill(
  config: Config,
  kv: { checkpoints: KV; progress: KV },
  extra: Partial<BackfillOptions> = {},
): Backfill {
  const source = mysqlSources(config)[0]!;
  return new Backfill({
    source: { ...source, url: source.url! },
    nats: config.nats,
    capture: config.capture,
    nc: servers.nc,
    ...kv,
    logger: testLogger,
    ...extra,
  });
}

const EXTENDED_TYPES = `CREATE TABLE $db.all_types (
  id BIGINT UNSIGNED PRIMARY KEY, ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, mu MEDIUMINT UNSIGNED,
  i INT, iu INT UNSIGNED, bi BIGINT, dec1 DECIMAL(65,30), f FLOAT, d DOUBLE, dt DATE, dtm DATETIME(6), dtm0 DATETIME,
  ts TIMESTAMP(6) NULL, ts0 TIMESTAMP NULL, tm TIME(6), tm0 TIME, y YEAR, c CHAR(10), vc VARCHAR(100), tx TEXT,
  bn BINARY(4), vb VARBINARY(10), bl BLOB, j JSON, e ENUM('a','b','c'), s SET('x','y','z'), b BIT(10), b64 BIT(64), n INT,
  dtm3 DATETIME(3), f2 FLOAT, d2 DOUBLE, u UUID, i4 INET4, i6 INET6, lat VARCHAR(20) CHARACTER SET latin1,
  inv INT INVISIBLE DEFAULT 7, g POINT, vg INT AS (i + 1) VIRTUAL, sg INT AS (i + 2) STORED
) DEFAULT CHARSET=utf8mb4`;

describe('backfill values', () => {
  it('encodes every column type exactly as capture does, with the same subject', async () => {
    const { schema, config, capture, ...kv } = await setup(EXTENDED_TYPES);
    await using _ = capture;
    // sql_mode '' lets the invalid ENUM value '' in, as it exists in older databases.
    await servers.db.query(`SET time_zone = '+00:00'; SET SESSION sql_mode = '';
      INSERT INTO ${schema}.all_types (id,ti,tiu,si,mi,mu,i,iu,bi,dec1,f,d,dt,dtm,dtm0,ts,ts0,tm,tm0,y,c,vc,tx,bn,vb,bl,j,e,s,b,b64,n,dtm3,f2,d2,u,i4,i6,lat)
      VALUES (18446744073709551615, -128, 255, -32768, -8388608, 16777215, -2147483648,
        4294967295, -9223372036854775808, '-12345678901234567890123456789012345.123456789012345678901234567891', 3.14,
        2.718281828459045, '2024-02-29', '2024-02-29 23:59:59.123456', '1000-01-01 00:00:00', '2038-01-19 03:14:07.999999',
        '1970-01-01 00:00:01', '-838:59:59.000000', '12:34:56', 2155, 'ab', 'héllo 😀', 'text 😀 ✓', 0x00FF0001,
        0xDEADBEEF00, 0xFFFE00C3, '{"a": [1, 2.5, "x", null, true, 12345678901234567890], "b": {"c": "é"}}', 'b', 'x,z',
        b'1010101010', 0xFFFFFFFFFFFFFFFF, NULL, '2024-01-01 00:00:00.100', 3.1415927, 0.1e0 + 0.2e0,
        '123e4567-e89b-12d3-a456-426614174000', '10.0.0.1', '2001:db8::1', 'Ça');
      UPDATE ${schema}.all_types SET g = POINT(1, 2) WHERE id > 1;
      INSERT INTO ${schema}.all_types (id, y, dec1, ts, e) VALUES (0, 0, '0.000000000000000000000000000001', '1970-01-01 00:00:01.5', '');
      INSERT INTO ${schema}.all_types (id, u, i6) VALUES (1, '6ccd780c-baba-1026-9564-5b8c656024db', '::ffff:1.2.3.4');`);
    const live = ofTable(await waitForEvents(servers.nc, config, 5), schema, 'all_types');
    expect(live.map((e) => e.data.op)).toEqual(['insert', 'update', 'insert', 'insert']);

    const run = backfill(config, kv, { tables: [{ database: schema, table: 'all_types' }], chunkRows: 2 });
    const summary = await run.run();
    expect(summary).toMatchObject({ complete: true, resumed: false, published: 3, deduplicated: 0 });
    const reads = ofTable(await waitForEvents(servers.nc, config, 8), schema, 'all_types').filter(
      (e) => e.data.op === 'read',
    );
    expect(reads.map((e) => e.subject)).toEqual(['0', '1', '18446744073709551615']);
    for (const read of reads) {
      const last = live.findLast((e) => e.subject === read.subject)!;
      expect(read.data.after).toEqual(last.data.after);
      expect(Object.keys(read.data.after!)).toEqual(Object.keys(last.data.after!));
      expect(read).toMatchObject({
        type: `mysql.${schema}.all_types.read`,
        source: '/sluice/mysql/src1',
        sluicebackfill: summary.runId,
        sluiceposition: expect.stringMatching(/^\d+-\d+-\d+/),
        data: { op: 'read', before: null, changed: live[0]!.data.changed, primaryKey: ['id'] },
      });
      expect(read.id).toBe(
        readEventId({
          sourceId: 'src1',
          runId: summary.runId,
          database: schema,
          table: 'all_types',
          key: read.subject!,
          after: read.data.after!,
        }),
      );
    }
    // Same partition as the row's live events: the subject (partition key) and the subject token agree.
    const stored = (await readEvents(servers.nc, config)).filter((s) => s.event.data.table === 'all_types');
    const partitionOf = (subject: string) => subject.split('.')[2];
    for (const r of stored.filter((s) => s.event.data.op === 'read')) {
      const insert = stored.find((s) => s.event.data.op === 'insert' && s.event.subject === r.event.subject)!;
      expect(partitionOf(r.subject)).toBe(partitionOf(insert.subject));
    }
  });
});

describe('backfill paging and resume', () => {
  it('pages a composite key in order, stops after a chunk, resumes, and re-publishes collapse by Msg-Id', async () => {
    const { schema, config, capture, ...kv } = await setup(
      'CREATE TABLE $db.pairs (a VARCHAR(8), b BIGINT, v INT, PRIMARY KEY (a, b))',
    );
    await using _ = capture;
    const rows = Array.from({ length: 300 }, (_, i) => ({
      a: `k${i % 7}`,
      b: 9007199254740993n + BigInt(i),
      v: i,
    }));
    const values = rows.map((r) => `('${r.a}', ${r.b}, ${r.v})`);
    // Written before the run, with capture running: these are inserts in the stream, then reads.
    await servers.db.query(`INSERT INTO ${schema}.pairs VALUES ${values.join(', ')}`);
    await waitForEvents(servers.nc, config, 301);
    const table = { database: schema, table: 'pairs' };

    let chunks = 0;
    const stoppable: Backfill = backfill(config, kv, {
      tables: [table],
      chunkRows: 40,
      onProgress: (s) => {
        if (s.tables[0]!.rows > 0 && ++chunks === 3) stoppable.stop();
      },
    });
    const partial = await stoppable.run();
    expect(partial.complete).toBe(false);
    expect(partial.tables[0]).toMatchObject({ state: 'running', rows: 120 });

    const rest = await backfill(config, kv, { chunkRows: 40 }).run();
    expect(rest).toMatchObject({ complete: true, resumed: true, runId: partial.runId, published: 180 });
    expect(rest.tables[0]).toMatchObject({ state: 'done', rows: 300 });

    const reads = ofTable(await waitForEvents(servers.nc, config, 601), schema, 'pairs').filter(
      (e) => e.data.op === 'read',
    );
    expect(reads).toHaveLength(300);
    expect(new Set(reads.map((e) => e.id)).size).toBe(300);
    // Keyset order is (a, b); BIGINT keys beyond 2^53 stay exact.
    const order = [...rows].sort((x, y) => (x.a === y.a ? (x.b < y.b ? -1 : 1) : x.a < y.a ? -1 : 1));
    expect(reads.map((e) => e.subject)).toEqual(order.map((r) => `${r.a},${r.b}`));

    // A crash between publishing chunks and storing progress: the rerun re-publishes them, same ids.
    const stored = (await kv.progress.get('src1'))!.json<BackfillRun>();
    await kv.progress.put(
      'src1',
      JSON.stringify({
        ...stored,
        state: 'running',
        tables: [{ ...stored.tables[0]!, state: 'running', after: null, rows: 0 }],
      }),
    );
    const again = await backfill(config, kv, { chunkRows: 40 }).run();
    expect(again).toMatchObject({ complete: true, resumed: true, published: 0, deduplicated: 300 });
    expect((await readEvents(servers.nc, config)).filter((s) => s.event.data.table === 'pairs')).toHaveLength(
      600,
    );
  });

  it('pages UUID, binary and DATETIME keys: every row read once', async () => {
    const { schema, config, capture, ...kv } = await setup(
      'CREATE TABLE $db.u (id UUID PRIMARY KEY, v INT); CREATE TABLE $db.b (k VARBINARY(8), d DATETIME(3), PRIMARY KEY (k, d))',
    );
    await using _ = capture;
    const n = 40;
    await servers.db.query(
      `INSERT INTO ${schema}.u SELECT UUID(), seq FROM ${schema}.seq_1_to_${n};
       INSERT INTO ${schema}.b SELECT UNHEX(LPAD(HEX(seq % 5), 2 + 2 * (seq % 3), '0')), FROM_UNIXTIME(1e9 + seq / 1000) FROM ${schema}.seq_1_to_${n}`,
    );
    const live = (await waitForEvents(servers.nc, config, 2 * n + 1)).map((s) => s.event);
    const summary = await backfill(config, kv, {
      tables: [
        { database: schema, table: 'u' },
        { database: schema, table: 'b' },
      ],
      chunkRows: 3,
    }).run();
    expect(summary).toMatchObject({ complete: true, published: 2 * n });
    const events = (await waitForEvents(servers.nc, config, 4 * n + 1)).map((s) => s.event);
    for (const table of ['u', 'b']) {
      const keys = (op: string, from: typeof events) =>
        from.filter((e) => e.data.table === table && e.data.op === op).map((e) => e.subject);
      const reads = keys('read', events);
      expect(reads).toHaveLength(n);
      expect(new Set(reads)).toEqual(new Set(keys('insert', live)));
    }
  });

  it('waits for a row another transaction holds, and reads its committed value', async () => {
    const { schema, config, capture, ...kv } = await setup('CREATE TABLE $db.t (id INT PRIMARY KEY, v INT)');
    await using _ = capture;
    await servers.db.query(
      `INSERT INTO ${schema}.t VALUES ${Array.from({ length: 50 }, (_, i) => `(${i + 1}, 0)`).join(', ')}`,
    );
    const holder = await createConnection({ uri: servers.db.rootUrl });
    try {
      await holder.query(`BEGIN`);
      await holder.query(`UPDATE ${schema}.t SET v = 1 WHERE id = 30`);
      const run = backfill(config, kv, { tables: [{ database: schema, table: 't' }], chunkRows: 16 });
      const done = run.run();
      await waitFor(() => run.status().tables[0]?.rows === 29 && run.status().lockConflicts > 0, {
        timeoutMs: 20_000,
        message: 'backfill waiting at the locked row',
      });
      await holder.query('COMMIT');
      const summary = await done;
      expect(summary).toMatchObject({ complete: true, published: 50 });
      const events = ofTable(await waitForEvents(servers.nc, config, 102), schema, 't');
      const of30 = events.filter((e) => e.subject === '30');
      // The update committed before the row could be read: its read carries v = 1 and comes last.
      expect(of30.map((e) => [e.data.op, e.data.after!.v])).toEqual([
        ['insert', 0],
        ['update', 1],
        ['read', 1],
      ]);
    } finally {
      await holder.end();
    }
  });
});

describe('backfill progress record', () => {
  it('lets only one writer advance it: the second gets SLUICE_BACKFILL_CONFLICT', async () => {
    const config = testConfig(servers.nats, servers.db);
    await provision(servers.nc, config);
    const kv = await openBackfill(servers.nc, config.nats);
    const run = newRun('bf-1', [{ database: 'd', table: 't', estimatedRows: 0 }], new Date(0).toISOString());
    const [a, b] = [new ProgressStore(kv, 'src1'), new ProgressStore(kv, 'src1')];
    await Promise.all([a.load(), b.load()]);
    await a.save(run);
    const created = await b.save(run).catch((e: unknown) => e);
    expect(isSluiceError(created, 'SLUICE_BACKFILL_CONFLICT')).toBe(true);
    expect(await b.load()).toEqual(run);
    await a.save({ ...run, updatedAt: 'a' });
    const updated = await b.save({ ...run, updatedAt: 'b' }).catch((e: unknown) => e);
    expect(isSluiceError(updated, 'SLUICE_BACKFILL_CONFLICT')).toBe(true);
    expect((await kv.get('src1'))!.json<BackfillRun>().updatedAt).toBe('a');
  });
});

describe('backfill refusals', () => {
  it('refuses a table without a primary key, a MyISAM table and an uncaptured table, publishing nothing', async () => {
    const { schema, config, capture, ...kv } = await setup(
      'CREATE TABLE $db.nopk (a INT, b INT); CREATE TABLE $db.old (id INT PRIMARY KEY) ENGINE=MyISAM; INSERT INTO $db.nopk VALUES (1, 1), (1, 1)',
    );
    await using _ = capture;
    const before = (await readEvents(servers.nc, config)).length;
    const attempt = (tables: { database: string; table: string }[]) =>
      backfill(config, kv, { tables })
        .run()
        .then(
          () => undefined,
          (err: unknown) => err,
        );
    const noPk = await attempt([
      { database: schema, table: 'nopk' },
      { database: schema, table: 'old' },
    ]);
    expect(isSluiceError(noPk, 'SLUICE_BACKFILL_NO_PRIMARY_KEY')).toBe(true);
    expect((noPk as Error).message).toMatch(/nopk has no primary key[\s\S]*old is MyISAM, not InnoDB/);
    const elsewhere = await attempt([{ database: 'mysql', table: 'user' }]);
    expect(isSluiceError(elsewhere, 'SLUICE_BACKFILL_TABLE')).toBe(true);
    const missing = await attempt([{ database: schema, table: 'nope' }]);
    expect(isSluiceError(missing, 'SLUICE_BACKFILL_TABLE')).toBe(true);
    // Without --tables, every captured table is checked: nopk blocks the whole run before any read.
    expect(isSluiceError(await attempt(undefined as never), 'SLUICE_BACKFILL_NO_PRIMARY_KEY')).toBe(true);
    expect(await kv.progress.get('src1')).toBeNull();
    expect(await readEvents(servers.nc, config)).toHaveLength(before);
  });

  it('refuses a source without a capture checkpoint, and a second run over other tables', async () => {
    const { schema, config, capture, ...kv } = await setup(
      'CREATE TABLE $db.a (id INT PRIMARY KEY); CREATE TABLE $db.b (id INT PRIMARY KEY); INSERT INTO $db.a VALUES (1), (2), (3)',
    );
    await using _ = capture;
    const other = { ...config, sources: [{ ...config.sources[0]!, id: 'never-captured' }] };
    const err = await backfill(other, kv)
      .run()
      .catch((e: unknown) => e);
    expect(isSluiceError(err, 'SLUICE_BACKFILL_NO_CHECKPOINT')).toBe(true);

    let seen = 0;
    const stopping: Backfill = backfill(config, kv, {
      tables: [{ database: schema, table: 'a' }],
      chunkRows: 1,
      onProgress: (s) => {
        if (s.tables[0]!.rows === 1 && seen++ === 0) stopping.stop();
      },
    });
    expect((await stopping.run()).complete).toBe(false);
    const conflict = await backfill(config, kv, { tables: [{ database: schema, table: 'b' }] })
      .run()
      .catch((e: unknown) => e);
    expect(isSluiceError(conflict, 'SLUICE_BACKFILL_CONFLICT')).toBe(true);
    const restarted = await backfill(config, kv, {
      tables: [{ database: schema, table: 'b' }],
      restart: true,
    }).run();
    expect(restarted).toMatchObject({ complete: true, resumed: false });
  });
});
