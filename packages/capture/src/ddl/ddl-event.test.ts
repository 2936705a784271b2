import type { QueryEvent } from '@vlasky/zongji';
import { describe, expect, it } from 'vitest';
import {
  buildConfig,
  cdcEventId,
  createLogger,
  type CloudEvent,
  type EventAddress,
  type PubAck,
} from '@sluice/core';
import { DdlPublisher, ddlTarget, type DdlChange, type DdlOutcome } from './ddl-event.js';
import { classifyStatement } from './ddl-statement.js';
import { tableFilter } from '../tables/schema-filter.js';
import { TransactionTracker, type OpenTransaction } from '../transactions/transaction-tracker.js';

const nats = buildConfig(JSON.stringify({ nats: { prefix: 'tst', partitions: 8 } }), {}).nats;

interface Sent {
  subject: string;
  event: CloudEvent<DdlChange>;
  ack: () => void;
}

function setup(o: { include?: string[]; exclude?: string[]; onStatementDml?: 'fail' | 'skip' } = {}) {
  const sent: Sent[] = [];
  const send = ({ subject, msgId, headers }: EventAddress, event: CloudEvent) => {
    expect(headers).toEqual({ 'Sluice-Source': 'src1' }); // what the reconcile scan looks for
    expect(msgId).toBe(event.id);
    const ack = { seq: sent.length + 1, duplicate: false } as PubAck;
    return new Promise<PubAck>((resolve) =>
      sent.push({ subject, event: event as CloudEvent<DdlChange>, ack: () => resolve(ack) }),
    );
  };
  const tracker = new TransactionTracker();
  const logs: string[] = [];
  const outcomes: DdlOutcome[] = [];
  let schemaChanges = 0;
  const ddl = new DdlPublisher({
    send,
    tracker,
    nats,
    sourceId: 'src1',
    filter: tableFilter(o.include ?? [], o.exclude ?? []),
    logger: createLogger({ level: 'debug', pretty: false }, { write: (line: string) => logs.push(line) }),
    onSchemaChange: () => schemaChanges++,
    onOutcome: (x) => outcomes.push(x),
    ...(o.onStatementDml !== undefined ? { onStatementDml: o.onStatementDml } : {}),
  });
  // One DDL group per statement, as MariaDB writes it: GTID event, then the query that ends it.
  let seq = 100;
  const run = (query: string, schema = 'shop'): boolean => {
    const tx = tracker.begin(`0-1-${++seq}`);
    const ev = { query, schema, timestamp: 1_700_000_000_000, nextPosition: 4000 + seq } as QueryEvent;
    const published = ddl.handle(
      ev,
      () => tx,
      'bin.000002',
      (t) => tracker.acked(t),
      () => undefined,
    );
    tracker.commit(tx, { file: 'bin.000002', pos: ev.nextPosition });
    return published;
  };
  const handleIn = (tx: OpenTransaction, query: string): boolean =>
    ddl.handle(
      { query, schema: 'shop', timestamp: 0, nextPosition: 10 } as QueryEvent,
      () => tx,
      'f',
      () => undefined,
      () => undefined,
    );
  return { sent, tracker, logs, outcomes, run, handleIn, schemaChanges: () => schemaChanges };
}

describe('DdlPublisher', () => {
  it('publishes a DDL event with a deterministic id, and the checkpoint waits for its ack', async () => {
    const s = setup();
    expect(s.run('ALTER TABLE orders ADD COLUMN note VARCHAR(20)')).toBe(true);
    expect(s.tracker.safe).toBeUndefined(); // committed, but not yet acknowledged
    const [one] = s.sent;
    expect(one!.event).toEqual({
      specversion: '1.0',
      id: cdcEventId({ sourceId: 'src1', transaction: '0-1-101', rowIndex: 0 }),
      source: '/sluice/mysql/src1',
      type: 'mysql.shop.ddl',
      subject: 'shop',
      time: '2023-11-14T22:13:20.000Z',
      datacontenttype: 'application/json',
      data: {
        kind: 'alter',
        object: 'table',
        database: 'shop',
        table: 'orders',
        statement: 'ALTER TABLE orders ADD COLUMN note VARCHAR(20)',
        defaultDatabase: 'shop',
      },
      sluiceposition: 'bin.000002:4101',
      sluicetxid: '0-1-101',
      sluicetxindex: 0,
    });
    expect(one!.subject).toMatch(/^tst\.events\.[0-7]\.mysql\.shop\.ddl$/);
    one!.ack();
    await expect.poll(() => s.tracker.safe?.pos).toBe(4101);
    expect(s.outcomes).toEqual(['published']);
    expect(s.schemaChanges()).toBe(1);
  });

  it('names the first captured table, qualified or not, and skips what the filter leaves out', () => {
    const s = setup({ include: ['shop', 'other.keep'] });
    expect(s.run('RENAME TABLE other.skip TO other.keep')).toBe(true);
    expect(s.sent[0]!.event.data).toMatchObject({ database: 'other', table: 'keep', kind: 'rename' });
    expect(s.run('DROP TABLE other.skip')).toBe(false);
    expect(s.run('CREATE DATABASE other')).toBe(false); // not captured as a whole
    expect(s.run('CREATE PROCEDURE p() SELECT 1')).toBe(true);
    expect(s.sent[1]!.event.data).toMatchObject({ database: 'shop', table: null, object: 'procedure' });
    expect(s.outcomes).toEqual(['filtered', 'filtered']);
    expect(s.schemaChanges()).toBe(4);
  });

  it('never publishes or logs an account statement, yet counts it in the transaction', () => {
    const s = setup();
    expect(s.run("CREATE USER 'x'@'%' IDENTIFIED BY 'secret-pw'")).toBe(false);
    expect(s.run("SET PASSWORD FOR 'x'@'%' = '*AEDFDDC12F5F98244AF61CF5CA843257CAF012A7'")).toBe(false);
    expect(s.sent).toEqual([]);
    expect(s.outcomes).toEqual(['account', 'account']);
    expect(s.logs.join('\n')).not.toMatch(/secret-pw|AEDFDDC1|IDENTIFIED/);
    expect(s.logs).toHaveLength(2);
    expect(s.schemaChanges()).toBe(0);
  });

  it('reports an unrecognised statement with its code and masked literals, and goes on', () => {
    const s = setup();
    expect(s.run("INSTALL SONAME 'ha_card_4242'")).toBe(false);
    expect(s.outcomes).toEqual(['unrecognised']);
    const [line] = s.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(line).toMatchObject({
      level: 40,
      code: 'SLUICE_DDL_UNRECOGNISED',
      statement: "INSTALL SONAME '?'",
    });
    expect(s.schemaChanges()).toBe(1);
    expect(s.run('ALTER TABLE t FORCE')).toBe(true);
    // The unrecognised statement still took its index: ids do not depend on what sluice recognises.
    expect(s.sent[0]!.event.sluicetxindex).toBe(0);
  });

  it('throws SLUICE_BINLOG_STATEMENT_DML for DML written as text on a captured table, by default', () => {
    const s = setup({ include: ['shop'] });
    expect(() => s.run("INSERT INTO orders VALUES (1, 'card-4242')")).toThrow(
      expect.objectContaining({
        code: 'SLUICE_BINLOG_STATEMENT_DML',
        details: expect.objectContaining({
          tables: ['shop.orders'],
          statement: "INSERT INTO orders VALUES (1, '?')",
        }),
      }),
    );
    expect(s.sent).toEqual([]);
  });

  it('ignores DML written as text on tables not captured, whatever the setting', () => {
    const s = setup({ include: ['shop'] });
    expect(s.run('DELETE FROM other.t', 'shop')).toBe(false);
    expect(s.run('UPDATE t SET a = 1', 'other')).toBe(false);
    expect(s.outcomes).toEqual(['filtered', 'filtered']);
    expect(s.logs.map((l) => JSON.parse(l) as Record<string, unknown>).map((l) => l.level)).toEqual([20, 20]);
  });

  it('warns with SLUICE_BINLOG_STATEMENT_DML and goes on under onStatementDml: skip', () => {
    const s = setup({ include: ['shop'], onStatementDml: 'skip' });
    expect(s.run("UPDATE orders SET note = 'x' WHERE id = 1")).toBe(false);
    expect(s.outcomes).toEqual(['statement-dml']);
    const [line] = s.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(line).toMatchObject({
      level: 40,
      code: 'SLUICE_BINLOG_STATEMENT_DML',
      tables: ['shop.orders'],
      statement: "UPDATE orders SET note = '?' WHERE id = 1",
    });
    expect(s.run('ALTER TABLE orders FORCE')).toBe(true);
  });

  it('takes an index for each statement inside a transaction, but none for transaction control', () => {
    const s = setup();
    const tx = s.tracker.begin('0-1-7');
    tx.nextRowIndex = 3; // rows before it
    s.handleIn(tx, 'SAVEPOINT s1');
    expect(tx.nextRowIndex).toBe(3);
    s.handleIn(tx, 'CREATE TABLE z (id INT)');
    expect(tx.nextRowIndex).toBe(4);
    expect(s.sent.at(-1)!.event.sluicetxindex).toBe(3);
  });

  it('publishes a two-phase ALTER once, for its COMMIT ALTER group', () => {
    const s = setup();
    // TransactionBoundaries keeps the group's MariaDB GTID event on the transaction.
    const group = (flagsExtra: number) =>
      Object.assign(s.tracker.begin(`0-1-${flagsExtra}`), { mariadbGtid: { flagsExtra } });
    expect(s.handleIn(group(0x02), 'ALTER TABLE t ADD c INT')).toBe(false); // START ALTER
    expect(s.handleIn(group(0x08), 'ALTER TABLE t ADD c INT')).toBe(false); // ROLLBACK ALTER
    expect(s.handleIn(group(0x04), 'ALTER TABLE t ADD c INT')).toBe(true); // COMMIT ALTER
    expect(s.sent.map((e) => e.event.sluicetxid)).toEqual(['0-1-4']);
  });

  it('redacts credentials in published statements', () => {
    const s = setup();
    s.run("CREATE TABLE f (a INT) ENGINE=FEDERATED CONNECTION='mysql://u:hunter2@h/db/t'");
    expect(s.sent[0]!.event.data.statement).toBe(
      "CREATE TABLE f (a INT) ENGINE=FEDERATED CONNECTION='<redacted>'",
    );
  });
});

describe('ddlTarget', () => {
  const ddl = (sql: string) =>
    classifyStatement(sql) as Extract<ReturnType<typeof classifyStatement>, { category: 'ddl' }>;

  it('places database-level statements only when the whole database is captured', () => {
    expect(ddlTarget(ddl('CREATE DATABASE shop'), '', tableFilter(['shop'], []))).toEqual({
      database: 'shop',
      table: null,
    });
    expect(ddlTarget(ddl('CREATE DATABASE shop'), '', tableFilter(['shop.*'], []))).toEqual({
      database: 'shop',
      table: null,
    });
    expect(ddlTarget(ddl('CREATE DATABASE shop'), '', tableFilter(['shop.orders'], []))).toBeUndefined();
    expect(ddlTarget(ddl('CREATE DATABASE mysql'), '', tableFilter([], []))).toBeUndefined();
    expect(ddlTarget(ddl('CREATE PROCEDURE p() SELECT 1'), '', tableFilter([], []))).toBeUndefined();
  });

  it('never places statements on system schemas or excluded tables', () => {
    expect(ddlTarget(ddl('ALTER TABLE mysql.user FORCE'), 'shop', tableFilter([], []))).toBeUndefined();
    expect(
      ddlTarget(ddl('ALTER TABLE skip_me FORCE'), 'shop', tableFilter([], ['shop.skip_*'])),
    ).toBeUndefined();
    expect(ddlTarget(ddl('DROP TABLE skip_me, keep'), 'shop', tableFilter([], ['shop.skip_*']))).toEqual({
      database: 'shop',
      table: 'keep',
    });
  });
});
