// Child process of the raw-binlog phase: a zongji listener that decodes every row event of `bench`
// from a given binlog position and throws the rows away, counting them. Run apart from the harness so
// that its CPU is the decoder's alone. Argument: JSON {@link BinlogReaderArgs}.
import ZongJi, { type AnyBinlogEvent } from '@vlasky/zongji';
import { Counter, serveCounts } from './counting-child.js';

/** What the parent passes. */
export interface BinlogReaderArgs {
  /** `mysql://user:pass@host:port` of an account with REPLICATION SLAVE. */
  readonly url: string;
  readonly serverId: number;
  readonly filename: string;
  readonly position: number;
  /** Rows after which the reader reports that the backlog is done. */
  readonly rows: number;
}

const args = JSON.parse(process.argv[2]!) as BinlogReaderArgs;
const u = new URL(args.url);
// The connection settings capture uses (capture/src/mysql/mysql-url.ts), so that values decode the same way.
const zongji = new ZongJi({
  host: u.hostname,
  port: Number(u.port || 3306),
  user: decodeURIComponent(u.username),
  password: decodeURIComponent(u.password),
  dateStrings: true,
  timezone: 'Z',
  supportBigNumbers: true,
  bigNumberStrings: true,
});
const counter = new Counter(args.rows);
const served = serveCounts(counter, {
  close: async () => {
    zongji.stop();
  },
});
zongji.on('binlog', (ev: AnyBinlogEvent) => {
  if ('rows' in ev) counter.add(ev.rows.length);
});
zongji.on('error', (err: unknown) => served.fail(err));
zongji.on('ready', () => served.ready());
zongji.start({
  serverId: args.serverId,
  filename: args.filename,
  position: args.position,
  includeEvents: ['tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'mariadbgtid', 'rotate'],
  includeSchema: { bench: true },
});
