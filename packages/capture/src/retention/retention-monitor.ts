import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { Logger } from '@sluice/core';
import {
  assessRetention,
  expireSecondsOf,
  maxTotalBytesOf,
  type BinlogFile,
  type RetentionStatus,
  type RotationLog,
} from './retention.js';

/** Options of {@link RetentionMonitor}. */
export interface RetentionMonitorOptions {
  /** Between two checks; 0 turns the monitor off. */
  readonly intervalMs: number;
  readonly marginFiles: number;
  readonly marginMs: number;
  readonly rotations: RotationLog;
  readonly logger: Logger;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
}

/** How often a lasting `SLUICE_BINLOG_RETENTION_LOW` is logged again. */
const REPEAT_WARNING_MS = 10 * 60_000;

/**
 * Periodically compares the checkpoint's binlog file with the binlogs still on the server and its
 * expiry settings ({@link assessRetention}), keeps the result for the capture stats and logs
 * `SLUICE_BINLOG_RETENTION_LOW` while the file is close to being purged. Needs `BINLOG MONITOR`
 * (MariaDB) / `REPLICATION CLIENT` (MySQL), which capture already requires. Runs on the session's
 * metadata connection; a failed check is logged and retried at the next interval, never fatal.
 */
export class RetentionMonitor {
  readonly #o: RetentionMonitorOptions;
  #status: RetentionStatus | undefined;
  #timer: NodeJS.Timeout | undefined;
  #run = 0;
  #warnedAtMs: number | undefined;
  #checkFailed = false;

  constructor(o: RetentionMonitorOptions) {
    this.#o = o;
  }

  /** The latest assessment, or `undefined` before the first one (or without a checkpoint). */
  get status(): RetentionStatus | undefined {
    return this.#status;
  }

  /** Checks now and then every interval, on `conn`, against the checkpoint `checkpoint()` returns. */
  start(conn: Connection, checkpoint: () => { file: string; pos: number } | undefined): void {
    this.stop();
    if (this.#o.intervalMs <= 0) return;
    const run = ++this.#run;
    const tick = (): void => {
      void this.check(conn, checkpoint()).then(() => {
        if (run !== this.#run) return;
        this.#timer = setTimeout(tick, this.#o.intervalMs);
        this.#timer.unref();
      });
    };
    tick();
  }

  /** Stops checking (a check in flight still completes). */
  stop(): void {
    this.#run++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One check; resolves with the new status (never rejects). */
  async check(
    conn: Connection,
    checkpoint: { file: string; pos: number } | undefined,
  ): Promise<RetentionStatus | undefined> {
    if (checkpoint === undefined || checkpoint.file === '') return this.#status;
    try {
      const [logs] = await conn.query<RowDataPacket[]>('SHOW BINARY LOGS');
      const [vars] = await conn.query<RowDataPacket[]>(
        'SHOW GLOBAL VARIABLES WHERE Variable_name IN ' +
          "('binlog_expire_logs_seconds', 'expire_logs_days', 'max_binlog_total_size', 'binlog_space_limit')",
      );
      const binlogs: BinlogFile[] = logs.map((r) => ({
        name: String(r.Log_name),
        size: Number(r.File_size),
      }));
      const settings = Object.fromEntries(vars.map((r) => [String(r.Variable_name), String(r.Value)]));
      this.#status = assessRetention({
        binlogs,
        checkpoint,
        expireSeconds: expireSecondsOf(settings),
        maxTotalBytes: maxTotalBytesOf(settings),
        closedAtMs: this.#o.rotations.closedAt(checkpoint.file),
        nowMs: this.#o.now(),
        marginFiles: this.#o.marginFiles,
        marginMs: this.#o.marginMs,
      });
      this.#checkFailed = false;
      this.#report();
    } catch (err) {
      // The first failure in a row at warn (a missing grant shows here), then quietly until one works.
      this.#o.logger[this.#checkFailed ? 'debug' : 'warn']({ err }, 'binlog retention check failed');
      this.#checkFailed = true;
    }
    return this.#status;
  }

  #report(): void {
    const s = this.#status;
    const now = this.#o.now();
    if (s?.low === true) {
      if (this.#warnedAtMs !== undefined && now - this.#warnedAtMs < REPEAT_WARNING_MS) return;
      this.#warnedAtMs = now;
      this.#o.logger.warn(
        { code: 'SLUICE_BINLOG_RETENTION_LOW', ...s },
        s.filesOlder < 0
          ? "the checkpoint's binlog file is no longer on the server: a restart may not be able to resume"
          : "the checkpoint's binlog file is close to being purged by the server",
      );
    } else if (this.#warnedAtMs !== undefined) {
      this.#warnedAtMs = undefined;
      this.#o.logger.info({ ...s }, "the checkpoint's binlog file is no longer close to being purged");
    }
  }
}
