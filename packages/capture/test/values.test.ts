import { describe, expect, it } from 'vitest';
import { uniqueName } from '@sluice/test-harness';
import { ofTable, provision, startCapture, testConfig, waitForEvents, serversForFile } from './helpers.js';

const servers = serversForFile();

async function setup(ddl: string) {
  const schema = uniqueName('v');
  await servers.db.query(`CREATE DATABASE ${schema}; ${ddl.replaceAll('$db', schema)}`);
  const config = testConfig(servers.nats, servers.db, { source: { include: [schema] } });
  const { checkpoints } = await provision(servers.nc, config);
  const capture = await startCapture(servers.nc, config, checkpoints);
  return { schema, config, capture };
}

const ALL_TYPES = `CREATE TABLE $db.all_types (
  id BIGINT UNSIGNED PRIMARY KEY, ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, mu MEDIUMINT UNSIGNED,
  i INT, iu INT UNSIGNED, bi BIGINT, dec1 DECIMAL(65,30), f FLOAT, d DOUBLE, dt DATE, dtm DATETIME(6), dtm0 DATETIME,
  ts TIMESTAMP(6) NULL, ts0 TIMESTAMP NULL, tm TIME(6), tm0 TIME, y YEAR, c CHAR(10), vc VARCHAR(100), tx TEXT,
  bn BINARY(4), vb VARBINARY(10), bl BLOB, j JSON, e ENUM('a','b','c'), s SET('x','y','z'), b BIT(10), b64 BIT(64), n INT
) DEFAULT CHARSET=utf8mb4`;

const ALL_NULL = Object.fromEntries(
  'ti tiu si mi mu i iu bi dec1 f d dt dtm dtm0 ts ts0 tm tm0 y c vc tx bn vb bl j e s b b64 n'
    .split(' ')
    .map((c) => [c, null]),
);

describe('column values', () => {
  it('round-trips every column type exactly', async () => {
    const { schema, config, capture } = await setup(ALL_TYPES);
    await using _ = capture;
    await servers.db.query(`SET time_zone = '+00:00';
      INSERT INTO ${schema}.all_types VALUES (18446744073709551615, -128, 255, -32768, -8388608, 16777215, -2147483648,
        4294967295, -9223372036854775808, '-12345678901234567890123456789012345.123456789012345678901234567891', 3.14,
        2.718281828459045, '2024-02-29', '2024-02-29 23:59:59.123456', '1000-01-01 00:00:00', '2038-01-19 03:14:07.999999',
        '1970-01-01 00:00:01', '-838:59:59.000000', '12:34:56', 2155, 'ab', 'héllo 😀', 'text 😀 ✓', 0x00FF0001,
        0xDEADBEEF00, 0xFFFE00C3, '{"a": [1, 2.5, "x", null, true, 12345678901234567890], "b": {"c": "é"}}', 'b', 'x,z',
        b'1010101010', 0xFFFFFFFFFFFFFFFF, NULL);
      INSERT INTO ${schema}.all_types (id, y, dec1, ts) VALUES (0, 0, '0.000000000000000000000000000001', '1970-01-01 00:00:01.5');
      INSERT INTO ${schema}.all_types (id) VALUES (1);`);
    const events = ofTable(await waitForEvents(servers.nc, config, 3), schema, 'all_types');
    expect(events.map((e) => e.data.after)).toEqual([
      {
        id: '18446744073709551615',
        ti: -128,
        tiu: 255,
        si: -32768,
        mi: -8388608,
        mu: 16777215,
        i: -2147483648,
        iu: 4294967295,
        bi: '-9223372036854775808',
        dec1: '-12345678901234567890123456789012345.123456789012345678901234567891',
        f: 3.14,
        d: 2.718281828459045,
        dt: '2024-02-29',
        dtm: '2024-02-29 23:59:59.123456',
        dtm0: '1000-01-01 00:00:00',
        ts: '2038-01-19T03:14:07.999999Z',
        ts0: '1970-01-01T00:00:01Z',
        tm: '-838:59:59.000000',
        tm0: '12:34:56',
        y: 2155,
        c: 'ab',
        vc: 'héllo 😀',
        tx: 'text 😀 ✓',
        bn: 'AP8AAQ==',
        vb: '3q2+7wA=',
        bl: '//4Aww==',
        j: { a: [1, 2.5, 'x', null, true, '12345678901234567890'], b: { c: 'é' } },
        e: 'b',
        s: ['x', 'z'],
        b: '1010101010',
        b64: '1'.repeat(64),
        n: null,
      },
      {
        ...ALL_NULL,
        id: '0',
        y: 0,
        dec1: '0.000000000000000000000000000001',
        ts: '1970-01-01T00:00:01.500000Z',
      },
      { ...ALL_NULL, id: '1' },
    ]);
    expect(events.map((e) => e.subject)).toEqual(['18446744073709551615', '0', '1']);
  });
});

describe('row change shape', () => {
  it('insert, update and delete carry before/after/changed and the primary key as subject', async () => {
    const { schema, config, capture } = await setup(
      'CREATE TABLE $db.items (id INT PRIMARY KEY, name VARCHAR(20), qty INT)',
    );
    await using _ = capture;
    await servers.db.query(`INSERT INTO ${schema}.items VALUES (7, 'pen', 1);
      UPDATE ${schema}.items SET qty = 2 WHERE id = 7;
      DELETE FROM ${schema}.items WHERE id = 7;`);
    const [ins, upd, del] = ofTable(await waitForEvents(servers.nc, config, 3), schema, 'items');
    const row1 = { id: 7, name: 'pen', qty: 1 };
    const row2 = { ...row1, qty: 2 };
    expect(ins).toMatchObject({
      type: `mysql.${schema}.items.insert`,
      subject: '7',
      source: '/sluice/mysql/src1',
      specversion: '1.0',
    });
    expect(ins!.data).toEqual({
      op: 'insert',
      database: schema,
      table: 'items',
      before: null,
      after: row1,
      changed: ['id', 'name', 'qty'],
      primaryKey: ['id'],
    });
    expect(upd!.data).toMatchObject({ op: 'update', before: row1, after: row2, changed: ['qty'] });
    expect(del!.data).toMatchObject({
      op: 'delete',
      before: row2,
      after: null,
      changed: ['id', 'name', 'qty'],
    });
    expect(upd!.type).toBe(`mysql.${schema}.items.update`);
    expect(new Set([ins!.id, upd!.id, del!.id]).size).toBe(3);
    // Three autocommit statements: three transactions, each row first in its own.
    expect(new Set([ins, upd, del].map((e) => e!.sluicetxid)).size).toBe(3);
    expect([ins, upd, del].map((e) => e!.sluicetxindex)).toEqual([0, 0, 0]);
    expect(ins!.sluicetxid).toMatch(/^\d+-\d+-\d+$/);
    expect(ins!.sluiceposition).toMatch(/^bin\.\d+:\d+$/);
    expect(Date.parse(ins!.time)).toBeGreaterThan(Date.parse('2020-01-01'));
  });

  it('numbers the rows of a multi-statement transaction in order, under one transaction id', async () => {
    const ddl = 'CREATE TABLE $db.a (id INT PRIMARY KEY); CREATE TABLE $db.b (id INT PRIMARY KEY, v INT)';
    const { schema, config, capture } = await setup(ddl);
    await using _ = capture;
    await servers.db.query(`INSERT INTO ${schema}.b VALUES (1, 0), (2, 0);
      BEGIN; INSERT INTO ${schema}.a VALUES (1), (2), (3); UPDATE ${schema}.b SET v = 1; INSERT INTO ${schema}.a VALUES (4); COMMIT;`);
    const all = await waitForEvents(servers.nc, config, 8);
    const tx = all.slice(2).map((s) => s.event);
    expect(new Set(tx.map((e) => e.sluicetxid)).size).toBe(1);
    expect(tx[0]!.sluicetxid).not.toBe(all[0]!.event.sluicetxid);
    expect(tx.map((e) => e.sluicetxindex)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(tx.map((e) => `${e.data.table}.${e.data.op}.${e.subject}`)).toEqual([
      'a.insert.1',
      'a.insert.2',
      'a.insert.3',
      'b.update.1',
      'b.update.2',
      'a.insert.4',
    ]);
    expect(new Set(all.map((s) => s.event.id)).size).toBe(8);
  });

  it('emits nothing for a rolled-back transaction', async () => {
    const { schema, config, capture } = await setup('CREATE TABLE $db.t (id INT PRIMARY KEY)');
    await using _ = capture;
    await servers.db.query(
      `BEGIN; INSERT INTO ${schema}.t VALUES (1), (2); ROLLBACK; INSERT INTO ${schema}.t VALUES (3);`,
    );
    const events = await waitForEvents(servers.nc, config, 1);
    // The marker row came after the rollback in the same session, so anything rolled back would precede it.
    await capture.stop();
    expect(ofTable(events, schema, 't').map((e) => e.subject)).toEqual(['3']);
    expect(capture.stats().lastCheckpoint).toMatchObject({
      file: expect.stringMatching(/^bin\./),
      gtid: expect.any(String),
    });
  });

  it('skips excluded tables but still counts their rows in the transaction', async () => {
    const schema = uniqueName('v');
    await servers.db.query(
      `CREATE DATABASE ${schema}; CREATE TABLE ${schema}.keep (id INT PRIMARY KEY); CREATE TABLE ${schema}.skip_me (id INT PRIMARY KEY);`,
    );
    const config = testConfig(servers.nats, servers.db, {
      source: { include: [schema], exclude: [`${schema}.skip_*`] },
    });
    const { checkpoints } = await provision(servers.nc, config);
    await using _ = await startCapture(servers.nc, config, checkpoints);
    await servers.db.query(
      `BEGIN; INSERT INTO ${schema}.skip_me VALUES (1), (2); INSERT INTO ${schema}.keep VALUES (1); COMMIT;`,
    );
    const [only, ...rest] = (await waitForEvents(servers.nc, config, 1)).map((s) => s.event);
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ subject: '1', sluicetxindex: 2, data: { table: 'keep' } });
  });
});
