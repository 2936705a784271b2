/**
 * How close capture's checkpoint is to the binlog the server purges: a pure assessment from what
 * `SHOW BINARY LOGS` and the expiry settings say (docs/decisions/0012-oversize-and-retention.md, "Binlog
 * retention guard"). The server never purges the binlog it is writing; older files go oldest first,
 * by `PURGE BINARY LOGS` or, at a rotation, once older than the expiry or past the size limit.
 */

/** One row of `SHOW BINARY LOGS`. */
export interface BinlogFile {
  readonly name: string;
  /** Bytes. */
  readonly size: number;
}

/** Inputs of {@link assessRetention}. */
export interface RetentionInput {
  /** The server's binlogs, oldest first (the order of `SHOW BINARY LOGS`); the last one is being written. */
  readonly binlogs: readonly BinlogFile[];
  /** The checkpoint's binlog file and offset. */
  readonly checkpoint: { readonly file: string; readonly pos: number };
  /** `binlog_expire_logs_seconds`, or `expire_logs_days` in seconds; 0 when binlogs never expire. */
  readonly expireSeconds: number;
  /** MariaDB's `max_binlog_total_size` (`binlog_space_limit`), bytes; 0 when there is none. */
  readonly maxTotalBytes: number;
  /** When the checkpoint's file was closed (its rotate event), ms since the epoch, when capture read it. */
  readonly closedAtMs: number | undefined;
  /** Now, ms since the epoch. */
  readonly nowMs: number;
  /** Warn when fewer files than this are older than the checkpoint's (closed) file. */
  readonly marginFiles: number;
  /** Warn when the checkpoint's file expires within this many ms. */
  readonly marginMs: number;
}

/** The capture stat `retention`: where the checkpoint stands against the server's binlog retention. */
export interface RetentionStatus {
  /** The oldest binlog file still on the server. */
  readonly oldestBinlog: string;
  /** The binlog file the server writes to. */
  readonly newestBinlog: string;
  /** The checkpoint's binlog file. */
  readonly checkpointFile: string;
  /** Binlog files older than the checkpoint's: purged before it. -1 when the checkpoint's file is gone. */
  readonly filesOlder: number;
  /** Binlog files newer than the checkpoint's. */
  readonly filesBehind: number;
  /** Bytes of binlog after the checkpoint. */
  readonly bytesBehind: number;
  /** The server's binlog expiry, seconds; 0 when binlogs never expire. */
  readonly expireSeconds: number;
  /** The server's limit on the binlogs' total size, bytes; 0 when there is none. */
  readonly maxTotalBytes: number;
  /**
   * Milliseconds until the expiry may purge the checkpoint's file (negative: at the next rotation);
   * `null` when it cannot expire (it is the file being written, or expiry is off) or capture has not
   * read its end yet.
   */
  readonly retentionHeadroomMs: number | null;
  /**
   * True when the checkpoint's file is already gone, or when the server purges binlogs by itself
   * (expiry or size limit) and the file is within the margins of being purged.
   */
  readonly low: boolean;
}

/** Assesses the checkpoint against the server's binlogs; `undefined` when the server lists none. */
export function assessRetention(input: RetentionInput): RetentionStatus | undefined {
  const { binlogs, checkpoint } = input;
  if (binlogs.length === 0) return undefined;
  const index = binlogs.findIndex((b) => b.name === checkpoint.file);
  const newest = binlogs.length - 1;
  const base = {
    oldestBinlog: binlogs[0]!.name,
    newestBinlog: binlogs[newest]!.name,
    checkpointFile: checkpoint.file,
    expireSeconds: input.expireSeconds,
    maxTotalBytes: input.maxTotalBytes,
  };
  if (index < 0) {
    // Gone (or from before a RESET MASTER): a file/pos resume fails, a GTID resume may still work.
    const bytesBehind = binlogs.reduce((n, b) => n + b.size, 0);
    return {
      ...base,
      filesOlder: -1,
      filesBehind: binlogs.length,
      bytesBehind,
      retentionHeadroomMs: 0,
      low: true,
    };
  }
  let bytesBehind = Math.max(0, binlogs[index]!.size - checkpoint.pos);
  for (let i = index + 1; i <= newest; i++) bytesBehind += binlogs[i]!.size;
  const closed = index < newest;
  const headroom =
    closed && input.expireSeconds > 0 && input.closedAtMs !== undefined
      ? input.closedAtMs + input.expireSeconds * 1000 - input.nowMs
      : null;
  // Without expiry or a size limit the server never purges by itself (MariaDB's default, and so the
  // embedded server's): the oldest file is next in line only for a PURGE someone runs, and warning
  // about it would fire after every server restart, whose rotation leaves the checkpoint there.
  const purges = input.expireSeconds > 0 || input.maxTotalBytes > 0;
  const low =
    closed && purges && (index < input.marginFiles || (headroom !== null && headroom < input.marginMs));
  return {
    ...base,
    filesOlder: index,
    filesBehind: newest - index,
    bytesBehind,
    retentionHeadroomMs: headroom,
    low,
  };
}

/**
 * The expiry setting in seconds from the server's variables: `binlog_expire_logs_seconds` when set,
 * else `expire_logs_days` (fractional on MariaDB). 0 when neither is.
 */
export function expireSecondsOf(vars: Readonly<Record<string, string | undefined>>): number {
  const seconds = Number(vars.binlog_expire_logs_seconds ?? 0);
  if (Number.isFinite(seconds) && seconds > 0) return seconds;
  const days = Number(vars.expire_logs_days ?? 0);
  return Number.isFinite(days) && days > 0 ? Math.round(days * 86_400) : 0;
}

/**
 * The limit on the binlogs' total size from the server's variables: MariaDB's `max_binlog_total_size`
 * (11.4+), or its older name `binlog_space_limit`. 0 when neither is set (MySQL has no such limit).
 */
export function maxTotalBytesOf(vars: Readonly<Record<string, string | undefined>>): number {
  const bytes = Number(vars.max_binlog_total_size ?? vars.binlog_space_limit ?? 0);
  return Number.isFinite(bytes) && bytes > 0 ? bytes : 0;
}

const KEEP_ROTATIONS = 64;

/**
 * When each binlog file was closed, learnt from the rotate events capture reads (a rotate event ends
 * its file; the one a dump starts with is synthetic and has no time). The server purges by file age,
 * and a file's last write is its rotate event. Keeps the newest {@link KEEP_ROTATIONS} files.
 */
export class RotationLog {
  readonly #closedAt = new Map<string, number>();

  /** Records a rotate event read at the end of `file`; `timestampMs` 0 (synthetic) is ignored. */
  rotated(file: string, timestampMs: number): void {
    if (file === '' || timestampMs <= 0) return;
    this.#closedAt.delete(file);
    this.#closedAt.set(file, timestampMs);
    if (this.#closedAt.size > KEEP_ROTATIONS) {
      const oldest = this.#closedAt.keys().next();
      if (!oldest.done) this.#closedAt.delete(oldest.value);
    }
  }

  /** When `file` was closed, ms since the epoch, if capture read its end. */
  closedAt(file: string): number | undefined {
    return this.#closedAt.get(file);
  }
}
