import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2/promise';
import { figures, type Phase } from '../phase.js';
import { insertRows, rootPool, ROWS_PER_INSERT } from './sluice-rows.js';
import type { BinlogReaderArgs } from './binlog-reader.js';
import { forkCountingChild, type CountingChild } from './counting-child.js';
import { backlogSize, calibrate, measureWindow } from './ref-window.js';

const READER = fileURLToPath(new URL('./binlog-reader.js', import.meta.url));
/** Rows inserted and decoded once to calibrate the decode rate. */
const CALIBRATION = 100_000;
/** Most rows the backlog holds (≈200 B of binlog each). */
const CAP = 10_000_000;
// Inserting is 1-3× slower than decoding, so a backlog for the whole quick window would take several
// times the window to write; quick mode is a smoke test of the harness and ends its window early.
const QUICK_CAP = 800_000;
// Distinct from the bench server's server_id (1) and from capture's default (48151); each listener
// needs its own or they kick each other off (docs/architecture.md, "Facts the design relies on").
const CALIBRATION_SERVER_ID = 4_200_001;
const READER_SERVER_ID = 4_200_002;

/**
 * The capture limit: zongji (`@vlasky/zongji`, capture's connection options) decoding a binlog backlog
 * of bench.orders inserts — multi-row INSERTs of {@link ROWS_PER_INSERT} rows from 4 connections,
 * the same rows and transactions the capture phase reads — and discarding the rows. The reader runs in
 * its own process from the binlog position recorded (SHOW MASTER STATUS) before the rows were
 * inserted, and nothing is written during the window, so the figures are the decoder's and the binlog
 * dump's alone, not the inserter's. capture / raw-binlog is then what capture adds per row. The backlog
 * is sized from a short calibration read, at most 10 M rows (800 k in quick mode). Processes: the
 * reader and mariadbd.
 */
export const rawBinlog: Phase = {
  name: 'raw-binlog',
  title: 'zongji read-and-discard over a bench.orders binlog backlog (the capture limit)',
  kind: 'reference',
  async run(ctx) {
    const db = await ctx.infra.mariadb();
    const pool = rootPool(db.rootUrl);
    let reader: CountingChild | undefined;
    try {
      const [[start]] = await pool.query<RowDataPacket[]>('SHOW MASTER STATUS');
      const from = { filename: String(start!.File), position: Number(start!.Position) };
      const readerArgs = (serverId: number, rows: number): BinlogReaderArgs => ({
        url: db.captureUrl,
        serverId,
        ...from,
        rows,
      });

      await insertRows(pool, 1, CALIBRATION);
      reader = await forkCountingChild(READER, readerArgs(CALIBRATION_SERVER_ID, CALIBRATION));
      const r0 = reader;
      const rate = await calibrate(() => r0.sample(), CALIBRATION, 60_000);
      await reader.stop();
      const total = backlogSize(rate, ctx, {
        margin: 1.3,
        min: CALIBRATION,
        max: ctx.mode === 'quick' ? QUICK_CAP : CAP,
        multipleOf: ROWS_PER_INSERT,
      });
      ctx.progress(`calibrated ${Math.round(rate)} rows/s; inserting a backlog of ${total} rows`);
      await insertRows(pool, CALIBRATION + 1, total - CALIBRATION);

      reader = await forkCountingChild(READER, readerArgs(READER_SERVER_ID, total));
      const w = await measureWindow(
        ctx,
        [
          { name: 'binlog-reader', pid: reader.pid },
          { name: 'mariadbd', pid: db.pid },
        ],
        () => reader!.sample(),
      );
      return figures(this.name, 'rows', w.count, w.seconds, w.processes, {
        lagGrowing: false,
        notes: [`backlog ${total} rows, ${ROWS_PER_INSERT} rows per transaction`, ...w.notes],
      });
    } finally {
      await reader?.stop();
      await pool.end();
    }
  },
};
