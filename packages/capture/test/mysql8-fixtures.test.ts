/**
 * MySQL 8 coverage without a MySQL 8 server: recorded-format binlog files (test/fixtures/mysql8,
 * built byte by byte from the format documentation) are replayed by a protocol-level stand-in server
 * to zongji and to a real BinlogCapture publishing into a real nats-server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ZongJi, { type AnyBinlogEvent, type TableMapEvent } from '@vlasky/zongji';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { buildConfig, cdcEventId, createLogger, type Config } from '@sluice/core';
import { startNats, uniqueName, waitFor, type TestNats } from '@sluice/test-harness';
import {
  buildFixtures,
  fixturePath,
  loadFixture,
  type FixtureName,
  type LoadedFixture,
} from '../../../test/fixtures/mysql8/build.js';
import type { ExpectedTransaction } from '../../../test/fixtures/mysql8/fixture.js';
import { startReplayServer, type ReplayServer } from '../../../test/fixtures/mysql8/replay-server.js';
import { loadCheckpoint } from '../src/resume/checkpoint-store.js';
import { mysqlOptions } from '../src/mysql/mysql-url.js';
import { rawMysqlJson } from '../src/mysql/mysql-json.js';
import { TransactionBoundaries } from '../src/transactions/transaction-boundaries.js';
import {
  TransactionTracker,
  type BinlogPosition,
  type OpenTransaction,
} from '../src/transactions/transaction-tracker.js';
import { provision, readEvents, startCapture, type StoredEvent } from './helpers.js';

const SOURCE = 'mysql8';
const ROW_OPS = new Set(['insert', 'update', 'delete']);

let nats: TestNats;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNats();
  nc = await nats.connect();
});

afterAll(async () => {
  await nats?.[Symbol.asyncDispose]();
});

function replayConfig(server: ReplayServer): Config {
  return buildConfig(
    JSON.stringify({
      nats: { url: nats.url, prefix: uniqueName('my8'), partitions: 4 },
      capture: {
        checkpointIntervalMs: 20,
        reconnectMinMs: 50,
        reconnectMaxMs: 500,
        publishTimeoutMs: 10_000,
      },
      sources: [{ id: SOURCE, url: server.url(), serverId: 1000 + Math.floor(Math.random() * 1_000_000) }],
    }),
    {},
  );
}

async function putCheckpoint(kv: KV, cp: { file: string; pos: number; gtid?: string }): Promise<void> {
  await kv.put(SOURCE, JSON.stringify({ ...cp, serverId: 1, updatedAt: new Date().toISOString() }));
}

const rowEvents = (events: readonly StoredEvent[]): StoredEvent[] =>
  events.filter((e) => ROW_OPS.has((e.event.data as { op?: string }).op ?? ''));

/** Waits for `count` row events; fails at once if `capture` stops with an error meanwhile. */
async function waitForRows(
  config: Config,
  count: number,
  capture?: { done: Promise<void> },
): Promise<StoredEvent[]> {
  let rows: StoredEvent[] = [];
  const stored = waitFor(async () => (rows = rowEvents(await readEvents(nc, config))).length >= count, {
    timeoutMs: 30_000,
    message: `${count} row events`,
  });
  const failed = new Promise<never>((_, reject) => capture?.done.catch(reject));
  await Promise.race([stored, failed]);
  return rows;
}

/** Waits until the stored checkpoint names `tx`'s end. */
async function waitForCheckpoint(kv: KV, tx: ExpectedTransaction): Promise<void> {
  await waitFor(async () => (await loadCheckpoint(kv, SOURCE))?.pos === tx.pos, {
    timeoutMs: 30_000,
    message: `checkpoint at ${tx.file}:${tx.pos}`,
  });
}

/** Compares stored events with a fixture's expected CDC events (ids derived from txid and index). */
function expectCdcEvents(stored: readonly StoredEvent[], fx: LoadedFixture, fromTx = 0): void {
  const txIds = new Set(fx.expect.transactions.slice(fromTx).map((t) => t.id));
  const expected = fx.expect.cdcEvents.filter((e) => txIds.has(e.sluicetxid));
  expect(stored.map((s) => s.event)).toEqual(
    expected.map((e) =>
      expect.objectContaining({
        ...e,
        id: cdcEventId({ sourceId: SOURCE, transaction: e.sluicetxid, rowIndex: e.sluicetxindex }),
        source: `/sluice/mysql/${SOURCE}`,
        data: expect.objectContaining(e.data),
      }),
    ),
  );
}

describe('MySQL 8 fixtures', () => {
  it('are what the fixture builder writes', async () => {
    for (const [relative, content] of buildFixtures()) {
      await expect(content).toMatchFileSnapshot(fixturePath(relative));
    }
  });

  it.each<FixtureName>(['rows', 'compressed', 'anonymous'])(
    '%s: zongji decodes every event, and the boundaries name every transaction and checkpoint position',
    async (name) => {
      const fx = await loadFixture(name);
      await using server = await startReplayServer({ files: fx.files, serverId: 1 });
      const commits: Array<ExpectedTransaction> = [];
      const tracker = new TransactionTracker();
      const commit = tracker.commit.bind(tracker);
      tracker.commit = (tx: OpenTransaction, end: BinlogPosition) => {
        commits.push({
          id: tx.id,
          file: end.file,
          pos: end.pos,
          ...(end.gtid ? { gtidSet: end.gtid } : {}),
          rows: tx.nextRowIndex,
        });
        commit(tx, end);
      };
      const z = new ZongJi(mysqlOptions(server.url()));
      const boundaries = new TransactionBoundaries(tracker, {
        isMariaDb: false,
        zongjiGtidSet: () => z.gtidSet,
        logger: createLogger({ level: 'silent', pretty: false }),
      });
      const seen: Array<Record<string, unknown>> = [];
      const errors: Error[] = [];
      let file = '';
      z.on('error', (err: Error) => errors.push(err));
      z.on('binlog', (ev: AnyBinlogEvent) => {
        const s = summary(ev);
        if (ev.getEventName() === 'tablemap') rawMysqlJson(ev as TableMapEvent);
        if (['writerows', 'updaterows', 'deleterows'].includes(ev.getEventName())) {
          boundaries.current(ev as { nextPosition: number }).nextRowIndex += (
            ev as { rows: unknown[] }
          ).rows.length;
        }
        if (['rotate', 'gtid', 'anonymousgtid', 'query', 'xid'].includes(ev.getEventName()))
          boundaries.apply(ev);
        // The dump thread's artificial ROTATE (log_pos 0) is not in the file.
        if (!(ev.getEventName() === 'rotate' && ev.nextPosition === 0)) seen.push({ file, ...s });
        if (ev.getEventName() === 'rotate') file = s.binlogName as string;
      });
      try {
        z.start({
          serverId: 4200 + Math.floor(Math.random() * 1000),
          filename: fx.files[0]!.name,
          position: 4,
        });
        await waitFor(() => seen.length >= fx.expect.zongjiEvents.length, {
          timeoutMs: 20_000,
          message: `${fx.expect.zongjiEvents.length} events from zongji`,
        });
      } finally {
        await new Promise<void>((resolve) => {
          z.once('stopped', () => resolve());
          z.stop();
        });
      }
      expect(seen.map((s, i) => pick(s, fx.expect.zongjiEvents[i] ?? {}))).toEqual(fx.expect.zongjiEvents);
      expect(commits).toEqual(fx.expect.transactions);
      // zongji cannot decode compressed transactions and says so; nothing else may go wrong.
      expect(errors.map((e) => e.message)).toEqual(
        fx.expect.refused ? [expect.stringContaining(fx.expect.refused.reason)] : [],
      );
    },
  );

  it('rows: capture publishes every row change exactly, across a rotate, and checkpoints the last DDL', async () => {
    const fx = await loadFixture('rows');
    await using server = await startReplayServer({ files: fx.files, serverId: 1 });
    const config = replayConfig(server);
    const { checkpoints } = await provision(nc, config);
    await putCheckpoint(checkpoints, { file: 'binlog.000001', pos: 4 });
    {
      await using capture = await startCapture(nc, config, checkpoints);
      expectCdcEvents(await waitForRows(config, fx.expect.cdcEvents.length, capture), fx);
      await waitForCheckpoint(checkpoints, fx.expect.transactions.at(-1)!);
      await capture.stop();
    }
    const last = fx.expect.transactions.at(-1)!;
    expect(await loadCheckpoint(checkpoints, SOURCE)).toMatchObject({
      file: last.file,
      pos: last.pos,
      gtid: last.gtidSet,
    });
    expect(server.dumps).toEqual([{ command: 'COM_BINLOG_DUMP', file: 'binlog.000001', position: 4 }]);
  });

  it('rows: a GTID checkpoint resumes with COM_BINLOG_DUMP_GTID, after the transactions it holds', async () => {
    const fx = await loadFixture('rows');
    await using server = await startReplayServer({ files: fx.files, serverId: 1 });
    const config = replayConfig(server);
    const { checkpoints } = await provision(nc, config);
    // Resume after the update transaction (the fifth: three CREATE TABLEs, an insert, the update).
    const from = 5;
    const at = fx.expect.transactions[from - 1]!;
    await putCheckpoint(checkpoints, { file: at.file, pos: at.pos, gtid: at.gtidSet! });
    const expectedRows = fx.expect.transactions.slice(from).reduce((n, t) => n + t.rows, 0);
    await using capture = await startCapture(nc, config, checkpoints);
    const stored = await waitForRows(config, expectedRows, capture);
    await waitForCheckpoint(checkpoints, fx.expect.transactions.at(-1)!);
    await capture.stop();
    expectCdcEvents(rowEvents(await readEvents(nc, config)), fx, from);
    expect(stored.length).toBe(expectedRows);
    expect(server.dumps).toEqual([{ command: 'COM_BINLOG_DUMP_GTID', gtidSet: at.gtidSet }]);
  });

  it('compressed: capture stops loudly at a TRANSACTION_PAYLOAD_EVENT and publishes nothing after it', async () => {
    const fx = await loadFixture('compressed');
    await using server = await startReplayServer({ files: fx.files, serverId: 1 });
    const config = replayConfig(server);
    const { checkpoints } = await provision(nc, config);
    await putCheckpoint(checkpoints, { file: 'binlog.000001', pos: 4 });
    const capture = await startCapture(nc, config, checkpoints);
    const err = await capture.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'SluiceError', code: 'SLUICE_BINLOG_UNSUPPORTED' });
    expect((err as Error).message).toContain('TRANSACTION_PAYLOAD_EVENT');
    const before = fx.expect.transactions[0]!;
    const stored = await waitForRows(config, before.rows);
    await nc.flush();
    expectCdcEvents(rowEvents(await readEvents(nc, config)), {
      ...fx,
      expect: { ...fx.expect, transactions: [before] },
    });
    expect(stored.map((s) => s.event.sluicetxid)).toEqual([before.id]);
    // The checkpoint never passes the refused transaction.
    const cp = await loadCheckpoint(checkpoints, SOURCE);
    expect(cp!.pos).toBeLessThanOrEqual(before.pos);
  });

  it('anonymous: transactions without GTIDs get distinct ids and a file/pos checkpoint to resume from', async () => {
    const fx = await loadFixture('anonymous');
    await using server = await startReplayServer({
      files: fx.files,
      serverId: 1,
      variables: { gtid_mode: 'OFF' },
    });
    const config = replayConfig(server);
    const { checkpoints } = await provision(nc, config);
    await putCheckpoint(checkpoints, { file: 'binlog.000001', pos: 4 });
    const last = fx.expect.transactions.at(-1)!;
    {
      await using capture = await startCapture(nc, config, checkpoints);
      expectCdcEvents(await waitForRows(config, fx.expect.cdcEvents.length, capture), fx);
      await waitForCheckpoint(checkpoints, last);
      await capture.stop();
    }
    const cp = await loadCheckpoint(checkpoints, SOURCE);
    expect(cp).toMatchObject({ file: last.file, pos: last.pos });
    expect(cp!.gtid).toBeUndefined();
    {
      await using _ = await startCapture(nc, config, checkpoints);
      await waitFor(() => server.dumps.length === 2, { timeoutMs: 20_000, message: 'a second dump request' });
    }
    expect(server.dumps[1]).toEqual({ command: 'COM_BINLOG_DUMP', file: last.file, position: last.pos });
    expect(rowEvents(await readEvents(nc, config))).toHaveLength(fx.expect.cdcEvents.length);
  });
});

/** The fields of a zongji event the fixtures state. */
function summary(ev: AnyBinlogEvent): Record<string, unknown> {
  const e = ev as unknown as Record<string, unknown>;
  const name: string = ev.getEventName();
  const out: Record<string, unknown> = { name, nextPosition: ev.nextPosition };
  switch (name) {
    case 'previousgtids':
      return { ...out, gtidSet: e.gtidSet };
    case 'gtid':
      return { ...out, gtid: e.gtid };
    case 'query':
      return { ...out, query: e.query };
    case 'xid':
      return { ...out, xid: e.xid };
    case 'rotate':
      return { ...out, binlogName: e.binlogName, position: e.position };
    case 'tablemap': {
      const t = ev as TableMapEvent;
      return {
        ...out,
        tableId: t.tableId,
        schemaName: t.schemaName,
        tableName: t.tableName,
        columns: (t.tableMap[t.tableId]?.columns ?? []).map((c) => c.name),
        primaryKey: t.primaryKey,
      };
    }
    case 'writerows':
    case 'updaterows':
    case 'deleterows':
      return { ...out, tableId: e.tableId, rows: (e.rows as unknown[]).length };
    default:
      return out;
  }
}

/** `actual` reduced to the keys `like` has, so events compare on what the fixture states. */
function pick(actual: Record<string, unknown>, like: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(like).map((k) => [k, actual[k]]));
}
