import { describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { createLogger, eventsStream, type CloudEvent, type Config } from '@sluice/core';
import type { DdlChange } from '../src/ddl/ddl-event.js';
import { uniqueName, waitFor } from '@sluice/test-harness';
import {
  provision,
  readEvents,
  testConfig,
  waitForEvents,
  type StoredEvent,
  serversForFile,
  startCapture,
} from './helpers.js';

const servers = serversForFile();

/** A capturer whose every log line (debug and up) is kept as JSON text. */
async function startLogged(config: Config, checkpoints: KV) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', pretty: false }, { write: (l: string) => lines.push(l) });
  const capture = await startCapture(servers.nc, config, checkpoints, { logger });
  let failed: unknown;
  capture.done.catch((err: unknown) => (failed = err));
  const logs = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const healthy = () => failed === undefined && capture.stats().reconnects === 0;
  return Object.assign(capture, { lines, logs, healthy });
}

async function setup(
  ddl: string,
  extra: Record<string, unknown> = {},
  capture: Record<string, unknown> = {},
) {
  const schema = uniqueName('ddl');
  await servers.db.query(`CREATE DATABASE ${schema}; ${ddl.replaceAll('$db', schema)}`);
  const base = testConfig(servers.nats, servers.db, { source: { include: [schema], ...extra }, capture });
  // A one-second dedupe window: a DDL event or row published twice a second apart is stored twice.
  const config: Config = { ...base, nats: { ...base.nats, duplicateWindowMs: 1_000 } };
  const { checkpoints } = await provision(servers.nc, config);
  return { schema, config, checkpoints };
}

/** Column names and values in table order: `toEqual` on plain objects would ignore the order. */
const entries = (row: Record<string, unknown> | null | undefined) => (row ? Object.entries(row) : row);

/** What a stored event says, compactly: DDL statements, or row images with their column order. */
function summary(e: StoredEvent) {
  const ev = e.event as CloudEvent<unknown>;
  if (ev.type.endsWith('.ddl')) {
    const d = ev.data as DdlChange;
    return { ddl: d.kind, object: d.object, table: d.table, statement: d.statement };
  }
  const d = e.event.data;
  return { [d.op]: d.table, before: entries(d.before), after: entries(d.after) };
}

/** Waits until the server clock has moved `seconds` whole seconds past `since` (Unix seconds). */
async function serverClockPast(since: number, seconds: number): Promise<void> {
  await waitFor(
    async () => {
      const [row] = await servers.db.query<{ now: number }[]>('SELECT UNIX_TIMESTAMP() AS now');
      return Number(row!.now) >= since + seconds;
    },
    { timeoutMs: 10_000, message: `server clock ${seconds} s past ${since}` },
  );
}

async function serverNow(): Promise<number> {
  const [row] = await servers.db.query<{ now: number }[]>('SELECT UNIX_TIMESTAMP() AS now');
  return Number(row!.now);
}

describe('schema changes behind a stopped capturer', () => {
  it('decodes every row with the columns it was written with, DDL events in binlog order', async () => {
    const { schema, config, checkpoints } = await setup(
      'CREATE TABLE $db.t (id INT PRIMARY KEY, a VARCHAR(10), b INT)',
    );
    const t = `${schema}.t`;
    {
      // The checkpoint the second capturer starts from: after row 0, before everything below.
      await using _ = await startLogged(config, checkpoints);
      await servers.db.query(`INSERT INTO ${t} VALUES (0, 'start', 0)`);
      await waitForEvents(servers.nc, config, 1);
    }
    await servers.db.query(`INSERT INTO ${t} VALUES (1, 'x', 10);
      ALTER TABLE ${t} ADD COLUMN c VARCHAR(10) DEFAULT 'd';
      INSERT INTO ${t} VALUES (2, 'y', 20, 'c2');
      UPDATE ${t} SET b = 11 WHERE id = 1;
      ALTER TABLE ${t} DROP COLUMN b;
      INSERT INTO ${t} VALUES (3, 'z', 'c3');
      UPDATE ${t} SET a = 'yy' WHERE id = 2;
      ALTER TABLE ${t} MODIFY a VARCHAR(10) AFTER c;
      INSERT INTO ${t} (id, c, a) VALUES (4, 'c4', 'w');
      ALTER TABLE ${t} MODIFY c VARCHAR(10) FIRST;
      DELETE FROM ${t} WHERE id = 3;
      ALTER TABLE ${t} RENAME COLUMN a TO a2;
      INSERT INTO ${t} (c, id, a2) VALUES ('c5', 5, 'v');
      UPDATE ${t} SET a2 = 'u' WHERE id = 4;`);

    await using capture = await startLogged(config, checkpoints);
    const all = await waitForEvents(servers.nc, config, 15, 30_000);
    expect(all.map(summary)).toEqual([
      {
        insert: 't',
        before: null,
        after: [
          ['id', 0],
          ['a', 'start'],
          ['b', 0],
        ],
      },
      {
        insert: 't',
        before: null,
        after: [
          ['id', 1],
          ['a', 'x'],
          ['b', 10],
        ],
      },
      {
        ddl: 'alter',
        object: 'table',
        table: 't',
        statement: `ALTER TABLE ${t} ADD COLUMN c VARCHAR(10) DEFAULT 'd'`,
      },
      {
        insert: 't',
        before: null,
        after: [
          ['id', 2],
          ['a', 'y'],
          ['b', 20],
          ['c', 'c2'],
        ],
      },
      {
        update: 't',
        before: [
          ['id', 1],
          ['a', 'x'],
          ['b', 10],
          ['c', 'd'],
        ],
        after: [
          ['id', 1],
          ['a', 'x'],
          ['b', 11],
          ['c', 'd'],
        ],
      },
      { ddl: 'alter', object: 'table', table: 't', statement: `ALTER TABLE ${t} DROP COLUMN b` },
      {
        insert: 't',
        before: null,
        after: [
          ['id', 3],
          ['a', 'z'],
          ['c', 'c3'],
        ],
      },
      {
        update: 't',
        before: [
          ['id', 2],
          ['a', 'y'],
          ['c', 'c2'],
        ],
        after: [
          ['id', 2],
          ['a', 'yy'],
          ['c', 'c2'],
        ],
      },
      {
        ddl: 'alter',
        object: 'table',
        table: 't',
        statement: `ALTER TABLE ${t} MODIFY a VARCHAR(10) AFTER c`,
      },
      {
        insert: 't',
        before: null,
        after: [
          ['id', 4],
          ['c', 'c4'],
          ['a', 'w'],
        ],
      },
      { ddl: 'alter', object: 'table', table: 't', statement: `ALTER TABLE ${t} MODIFY c VARCHAR(10) FIRST` },
      {
        delete: 't',
        before: [
          ['c', 'c3'],
          ['id', 3],
          ['a', 'z'],
        ],
        after: null,
      },
      { ddl: 'alter', object: 'table', table: 't', statement: `ALTER TABLE ${t} RENAME COLUMN a TO a2` },
      {
        insert: 't',
        before: null,
        after: [
          ['c', 'c5'],
          ['id', 5],
          ['a2', 'v'],
        ],
      },
      {
        update: 't',
        before: [
          ['c', 'c4'],
          ['id', 4],
          ['a2', 'w'],
        ],
        after: [
          ['c', 'c4'],
          ['id', 4],
          ['a2', 'u'],
        ],
      },
    ]);

    const ddl = all.filter((e) => e.event.type === `mysql.${schema}.ddl`).map((e) => e.event);
    expect(ddl).toHaveLength(5);
    for (const e of ddl) {
      // Its own DDL group: first (and only) index of its GTID, keyed by database.
      expect(e).toMatchObject({ subject: schema, sluicetxindex: 0, source: '/sluice/mysql/src1' });
      expect(e.sluicetxid).toMatch(/^\d+-\d+-\d+$/);
      expect(e.sluiceposition).toMatch(/^bin\.\d+:\d+$/);
    }
    expect(
      all.every((e) => e.event.data.primaryKey === undefined || e.event.data.primaryKey[0] === 'id'),
    ).toBe(true);
    expect(new Set(all.map((e) => e.event.id)).size).toBe(15);

    // The checkpoint passes the last DDL group only with its event acknowledged; after a graceful
    // stop it covers everything, and a third capturer, past the dedupe window, publishes nothing again.
    await capture.stop();
    expect(capture.stats()).toMatchObject({ ddlEvents: 5, ddlUnrecognised: 0, pendingAcks: 0 });
    const lastTx = all.at(-1)!.event.sluicetxid!;
    expect(capture.stats().lastCheckpoint?.gtid).toContain(lastTx);
    expect(capture.logs().filter((l) => (l.level as number) >= 40)).toEqual([]);
    const stoppedAt = Date.now();
    await waitFor(() => Date.now() > stoppedAt + 1_200, { message: 'the dedupe window to pass' });
    await using third = await startLogged(config, checkpoints);
    await servers.db.query(`INSERT INTO ${t} (c, id, a2) VALUES ('c6', 6, 'end')`);
    const final = await waitForEvents(servers.nc, config, 16, 30_000);
    expect(final.slice(0, 15)).toEqual(all);
    expect(summary(final[15]!)).toEqual({
      insert: 't',
      before: null,
      after: [
        ['c', 'c6'],
        ['id', 6],
        ['a2', 'end'],
      ],
    });
    await third.stop();
    expect(await readEvents(servers.nc, config)).toHaveLength(16);
  });
});

describe('DDL while capturing', () => {
  it('publishes CREATE/DROP TABLE and routines, skips maintenance, warns on statement-based DML when told to skip it, keeps running', async () => {
    const { schema, config, checkpoints } = await setup('', {}, { onStatementDml: 'skip' });
    const other = uniqueName('other'); // not captured: no events
    await using capture = await startLogged(config, checkpoints);
    await servers.db.query(`CREATE TABLE ${schema}.n (id INT PRIMARY KEY);
      INSERT INTO ${schema}.n VALUES (1);
      CREATE TABLE ${schema}.copy SELECT * FROM ${schema}.n;
      CREATE DATABASE ${other}; CREATE TABLE ${other}.x (id INT); DROP DATABASE ${other};
      CREATE PROCEDURE ${schema}.p() SELECT 1;
      ANALYZE TABLE ${schema}.n;
      SET SESSION binlog_format = 'STATEMENT'; INSERT INTO ${schema}.n VALUES (2); SET SESSION binlog_format = 'ROW';
      SET STATEMENT binlog_alter_two_phase = ON FOR ALTER TABLE ${schema}.n ADD COLUMN c INT DEFAULT 5;`);
    // Written as START ALTER, then ROLLBACK ALTER: both carry the statement, neither changed the table.
    await expect(
      servers.db.query(
        `SET STATEMENT binlog_alter_two_phase = ON FOR ALTER TABLE ${schema}.n ADD UNIQUE INDEX u (c)`,
      ),
    ).rejects.toThrow(/Duplicate entry/);
    await servers.db.query(`DROP TABLE ${schema}.n;
      CREATE TABLE ${schema}.later (id INT PRIMARY KEY);
      INSERT INTO ${schema}.later VALUES (7);`);
    const all = await waitForEvents(servers.nc, config, 9, 30_000);
    expect(all.map(summary)).toEqual([
      {
        ddl: 'create',
        object: 'table',
        table: 'n',
        statement: `CREATE TABLE ${schema}.n (id INT PRIMARY KEY)`,
      },
      { insert: 'n', before: null, after: [['id', 1]] },
      {
        ddl: 'create',
        object: 'table',
        table: 'copy',
        statement: `CREATE TABLE \`${schema}\`.\`copy\` (\n  \`id\` int(11) NOT NULL\n)`,
      },
      { insert: 'copy', before: null, after: [['id', 1]] },
      {
        ddl: 'create',
        object: 'procedure',
        table: null,
        // As the server writes it to the binlog: DEFINER added, names quoted.
        statement: `CREATE DEFINER=\`root\`@\`127.0.0.1\` PROCEDURE \`${schema}\`.\`p\`()\nSELECT 1`,
      },
      {
        // Two-phase: one event, for the COMMIT ALTER group. The binlog keeps the SET STATEMENT prefix.
        ddl: 'alter',
        object: 'table',
        table: 'n',
        statement: `SET STATEMENT binlog_alter_two_phase = ON FOR ALTER TABLE ${schema}.n ADD COLUMN c INT DEFAULT 5`,
      },
      {
        ddl: 'drop',
        object: 'table',
        table: 'n',
        statement: `DROP TABLE \`${schema}\`.\`n\` /* generated by server */`,
      },
      {
        ddl: 'create',
        object: 'table',
        table: 'later',
        statement: `CREATE TABLE ${schema}.later (id INT PRIMARY KEY)`,
      },
      { insert: 'later', before: null, after: [['id', 7]] },
    ]);
    // CREATE … SELECT is one transaction: the DDL event first, then its rows.
    expect([all[2]!.event.sluicetxid, all[2]!.event.sluicetxindex]).toEqual([all[3]!.event.sluicetxid, 0]);
    expect(all[3]!.event.sluicetxindex).toBe(1);
    expect(all[4]!.event.type).toBe(`mysql.${schema}.ddl`);
    expect((all[4]!.event.data as unknown as DdlChange).database).toBe(schema);

    await waitFor(() => capture.stats().statementDml === 1, { message: 'statement-based DML counted' });
    const warnings = capture.logs().filter((l) => l.code === 'SLUICE_BINLOG_STATEMENT_DML');
    expect(warnings).toEqual([
      expect.objectContaining({
        level: 40,
        tables: [`${schema}.n`],
        statement: `INSERT INTO ${schema}.n VALUES (2)`,
      }),
    ]);
    expect(capture.stats().ddlUnrecognised).toBe(0);
    expect(capture.healthy()).toBe(true);
    expect(capture.stats().role).toBe('active');
  });

  it('never lets an account statement password reach the stream or the logs', async () => {
    const { schema, config, checkpoints } = await setup('CREATE TABLE $db.m (id INT PRIMARY KEY)', {
      include: [], // every database: nothing filters the account statements out before their category does
    });
    const user = uniqueName('u');
    await using capture = await startLogged(config, checkpoints);
    const [row] = await servers.db.query<{ hash: string }[]>("SELECT PASSWORD('secret-pw-2') AS hash");
    const hash = row!.hash;
    await servers.db.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'secret-pw';
      ALTER USER '${user}'@'%' IDENTIFIED BY 'secret-pw-1';
      SET PASSWORD FOR '${user}'@'%' = PASSWORD('secret-pw-2');
      GRANT SELECT ON ${schema}.* TO '${user}'@'%';
      CREATE OR REPLACE USER '${user}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('secret-pw-3');
      DROP USER '${user}'@'%';
      INSERT INTO ${schema}.m VALUES (1);`);
    await waitFor(
      async () => (await readEvents(servers.nc, config)).some((e) => e.event.data.table === 'm'),
      {
        timeoutMs: 30_000,
        message: 'the marker row after the account statements',
      },
    );
    const raw = await rawStream(config);
    expect(raw).toContain(`"table":"m"`); // the reader sees the stream at all
    for (const secret of ['secret-pw', hash.slice(1, 20)]) {
      expect(raw).not.toContain(secret);
      expect(capture.lines.join('\n')).not.toContain(secret);
    }
    expect(capture.logs().filter((l) => /account statement/.test(String(l.msg)))).toHaveLength(6);
    expect(capture.healthy()).toBe(true);
  });
});

describe('MariaDB JSON columns across an ALTER', () => {
  it('trusts the current definition only for rows written after it, and warns for the others', async () => {
    const { schema, config, checkpoints } = await setup(
      'CREATE TABLE $db.j (id INT PRIMARY KEY, doc JSON, t LONGTEXT)',
    );
    const j = `${schema}.j`;
    await serverClockPast(await serverNow(), 2); // rows below are written well after the CREATE
    {
      await using first = await startLogged(config, checkpoints);
      await servers.db.query(`INSERT INTO ${j} VALUES (0, '{"a": 0}', '{"b": 0}')`);
      const [row0] = await waitForEvents(servers.nc, config, 1);
      expect(row0!.event.data.after).toEqual({ id: 0, doc: { a: 0 }, t: '{"b": 0}' });
      expect(first.logs().filter((l) => l.code === 'SLUICE_TABLE_SHAPE_UNCERTAIN')).toEqual([]);
    }
    await servers.db.query(`INSERT INTO ${j} VALUES (1, '{"a": 1}', '{"b": 1}');
      ALTER TABLE ${j} RENAME COLUMN doc TO doc2, MODIFY t JSON;`);
    await serverClockPast(await serverNow(), 2);
    await servers.db.query(`INSERT INTO ${j} VALUES (2, '{"a": 2}', '{"b": 2}')`);

    await using capture = await startLogged(config, checkpoints);
    const all = await waitForEvents(servers.nc, config, 4, 30_000);
    expect(all.map(summary).slice(1)).toEqual([
      // Written before the ALTER, read after it: the documented limit (docs/events.md, "Limits").
      // JSON-ness comes from today's definition by column name, and a warning says so.
      {
        insert: 'j',
        before: null,
        after: [
          ['id', 1],
          ['doc', '{"a": 1}'],
          ['t', { b: 1 }],
        ],
      },
      {
        ddl: 'alter',
        object: 'table',
        table: 'j',
        statement: `ALTER TABLE ${j} RENAME COLUMN doc TO doc2, MODIFY t JSON`,
      },
      {
        insert: 'j',
        before: null,
        after: [
          ['id', 2],
          ['doc2', { a: 2 }],
          ['t', { b: 2 }],
        ],
      },
    ]);
    const uncertain = capture.logs().filter((l) => l.code === 'SLUICE_TABLE_SHAPE_UNCERTAIN');
    expect(uncertain).toEqual([
      expect.objectContaining({ level: 40, database: schema, table: 'j', textColumns: ['doc', 't'] }),
    ]);
    expect(capture.healthy()).toBe(true);
  });
});

/** Every message of the events stream as raw text, headers included. */
async function rawStream(config: Config): Promise<string> {
  const jsm = await jetstreamManager(servers.nc);
  const stream = eventsStream(config.nats);
  const { state } = await jsm.streams.info(stream);
  const consumer = await jetstream(servers.nc).consumers.get(stream);
  const parts: string[] = [];
  const messages = await consumer.consume();
  for await (const m of messages) {
    parts.push(`${m.subject} ${String(m.headers ?? '')} ${Buffer.from(m.data).toString('utf8')}`);
    if (m.seq >= state.last_seq) break;
  }
  await messages.close();
  return parts.join('\n');
}
