/**
 * The catalog of every operational error code sluice raises, with a one-line meaning.
 * `docs/errors.md` documents each code; `errors.test.ts` keeps the two in sync.
 */
export const ErrorCodes = {
  SLUICE_CONFIG_INVALID: 'The configuration file or SLUICE_* environment failed validation.',
  SLUICE_CONFIG_NOT_FOUND: 'The configuration file named by --config or SLUICE_CONFIG does not exist.',
  SLUICE_CONFIG_PARSE: 'The configuration file is not valid YAML.',
  SLUICE_NATS_CONNECT: 'Could not connect to the NATS server.',
  SLUICE_NATS_VERSION: 'The NATS server is older than the minimum supported version.',
  SLUICE_NATS_NO_JETSTREAM: 'The NATS server does not have JetStream enabled.',
  SLUICE_NATS_PROVISION: 'A stream, consumer or KV bucket could not be created or updated.',
  SLUICE_PUBLISH_FAILED: 'JetStream rejected a publish or did not acknowledge it in time.',
  SLUICE_PUBLISH_TOO_LARGE: 'A message is larger than the NATS server accepts (max_payload).',
  SLUICE_MYSQL_CONNECT: 'Could not connect to MySQL/MariaDB.',
  SLUICE_BINLOG_DISABLED: 'Binary logging is off on the MySQL/MariaDB server (log_bin=OFF).',
  SLUICE_BINLOG_FORMAT: 'binlog_format is not ROW.',
  SLUICE_BINLOG_ROW_IMAGE: 'binlog_row_image is not FULL.',
  SLUICE_BINLOG_ROW_METADATA: 'binlog_row_metadata is not FULL.',
  SLUICE_MYSQL_PRIVILEGES: 'The capture user lacks replication privileges.',
  SLUICE_BINLOG_STREAM: 'The binlog stream failed and could not be resumed.',
  SLUICE_BINLOG_POSITION_PURGED: 'The checkpointed binlog position is no longer on the server.',
  SLUICE_CHECKPOINT_CORRUPT: 'A stored capture checkpoint could not be read.',
  SLUICE_CHECKPOINT_FOREIGN:
    'A checkpoint without a GTID was taken on another MySQL server; its file and position mean nothing here.',
  SLUICE_LEASE_LOST:
    "This capturer no longer holds its source's lease (another took over while it was paused or cut off); it stepped down.",
  SLUICE_CODEC: 'A message could not be encoded or decoded.',
  SLUICE_EMBEDDED_BINARY_MISSING: 'An embedded server binary (nats-server, mariadbd) is not installed.',
  SLUICE_EMBEDDED_START_FAILED: 'An embedded server did not start or did not become ready in time.',
  SLUICE_USAGE: 'The command line was not understood.',
  SLUICE_UNKNOWN_ENDPOINT: 'The command names an endpoint id that is not in the configuration.',
  SLUICE_DEAD_LETTER_NOT_FOUND: 'The DLQ stream holds no dead letter with the given sequence number.',
} as const;

/** A stable, documented error code; match on this rather than on messages. */
export type ErrorCode = keyof typeof ErrorCodes;

/** Options for {@link SluiceError}. */
export interface SluiceErrorOptions {
  /** The underlying error, kept as `error.cause`. */
  cause?: unknown;
  /** Extra plain data for logs and machine-readable output (never secrets). */
  details?: Record<string, unknown>;
}

/**
 * The one error class for operational failures at a boundary (config, MySQL, binlog, NATS, codec, HTTP).
 * Bugs and broken invariants use `node:assert` instead.
 */
export class SluiceError extends Error {
  override readonly name = 'SluiceError';
  /** The stable code from {@link ErrorCodes}. */
  readonly code: ErrorCode;
  /** Extra plain data describing the failure. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  /** A plain object for logs and JSON output. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** True when `err` is a {@link SluiceError}, optionally with the given code. */
export function isSluiceError(err: unknown, code?: ErrorCode): err is SluiceError {
  return err instanceof SluiceError && (code === undefined || err.code === code);
}
