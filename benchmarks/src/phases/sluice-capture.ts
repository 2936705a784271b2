import type { RowDataPacket } from 'mysql2/promise';
import { eventsStream, openCheckpoints } from '@sluice/core';
import { figures, type Phase } from '../phase.js';
import { measureDrain } from './sluice-drain.js';
import { insertRows, rootPool, ROWS_PER_INSERT } from './sluice-rows.js';
import { benchNats, resolved, sluiceConfig, sluiceNodeArgs, streamMessages } from './sluice-config.js';

const CAP = 1_500_000;
const GUESS_PER_SECOND = 40_000;

/**
 * Capture alone: `sluice capture` decoding a binlog backlog into SLUICE_EVENTS. The rows are
 * inserted before capture starts (multi-row INSERTs of 1,000 rows), and capture is pointed at the
 * binlog position recorded before them through a checkpoint written into its KV bucket, exactly as
 * a restart after downtime would find it. Counts events stored in the stream within the window.
 *
 * Why a backlog: it is the same workload raw-binlog reads and discards, so capture / raw-binlog
 * isolates what capture adds per row (envelope, id, JetStream publish and acks, checkpoints);
 * inserting during the window instead would meter MariaDB's write path and the inserting client
 * too, and cap capture at the insert rate. mariadbd stays in the metered processes because serving
 * the binlog dump is part of capture's cost.
 */
export const capturePhase: Phase = {
  name: 'capture',
  title: 'sluice capture decoding a binlog backlog → SLUICE_EVENTS',
  kind: 'sluice',
  async run(ctx) {
    const nats = await ctx.infra.nats();
    const db = await ctx.infra.mariadb();
    const raw = sluiceConfig({ natsUrl: nats.url, sourceUrl: db.captureUrl, ctx });
    const config = resolved(raw);
    const { nc, jsm } = await benchNats(config);
    const pool = rootPool(db.rootUrl);
    try {
      const [[at]] = await pool.query<RowDataPacket[]>(
        'SELECT @@gtid_binlog_pos AS gtid, @@server_id AS serverId',
      );
      const [[master]] = await pool.query<RowDataPacket[]>('SHOW MASTER STATUS');
      const checkpoint = {
        gtid: String(at!.gtid),
        file: String(master!.File),
        pos: Number(master!.Position),
        serverId: Number(at!.serverId),
        updatedAt: new Date().toISOString(),
      };
      const kv = await openCheckpoints(nc, config.nats);
      await kv.put('bench', JSON.stringify(checkpoint));

      let stocked = 0;
      const add = async (n: number): Promise<void> => {
        const rows = Math.ceil(n / ROWS_PER_INSERT) * ROWS_PER_INSERT;
        await insertRows(pool, stocked + 1, rows);
        stocked += rows;
      };
      const initial = Math.min(CAP, Math.ceil(((ctx.warmupMs + ctx.durationMs) / 1000) * GUESS_PER_SECOND));
      ctx.progress(`inserting a backlog of ${initial} rows`);
      await add(initial);
      const stream = eventsStream(config.nats);
      const drained = await measureDrain(
        ctx,
        {
          consumed: () => streamMessages(jsm, stream),
          get stocked() {
            return stocked;
          },
          add,
        },
        { name: 'sluice-capture', start: () => ctx.infra.sluice('capture', raw, sluiceNodeArgs()) },
        [
          { name: 'nats-server', pid: nats.pid },
          { name: 'mariadbd', pid: db.pid },
        ],
        CAP,
      );
      return figures(this.name, 'rows', drained.count, drained.seconds, drained.processes, {
        notes: [`${ROWS_PER_INSERT} rows per transaction`, ...drained.notes],
      });
    } finally {
      await pool.end();
      await nc.close();
    }
  },
};
