/**
 * The catalog of every operational error code sluice raises, with a one-line meaning.
 * `docs/errors.md` documents each code; `errors.test.ts` keeps the two in sync.
 */
export const ErrorCodes = {
  SLUICE_CONFIG_INVALID: 'The configuration file or SLUICE_* environment failed validation.',
  SLUICE_CONFIG_NOT_FOUND: 'The configuration file named by --config or SLUICE_CONFIG does not exist.',
  SLUICE_CONFIG_PARSE: 'The configuration file is not valid YAML.',
  SLUICE_NATS_CONNECT: 'Could not connect to the NATS server.',
  SLUICE_NATS_AUTH:
    'The NATS server refused the credentials (user/password, token, nkey or creds file), or requires some and none were given.',
  SLUICE_NATS_TLS:
    'The TLS connection to NATS failed: the server certificate did not verify, the server refused the client certificate, or one side requires TLS and the other does not offer it.',
  SLUICE_NATS_CREDENTIALS:
    'A file named by nats.nkeySeedFile, nats.credsFile or nats.tls*File cannot be read or does not hold what it should.',
  SLUICE_NATS_VERSION: 'The NATS server is older than the minimum supported version.',
  SLUICE_NATS_NO_JETSTREAM: 'The NATS server does not have JetStream enabled.',
  SLUICE_NATS_PROVISION: 'A stream, consumer or KV bucket could not be created or updated.',
  SLUICE_PUBLISH_FAILED: 'JetStream rejected a publish or did not acknowledge it in time.',
  SLUICE_PUBLISH_TOO_LARGE:
    'A message is larger than the NATS server accepts (max_payload); capture stores such an event in the oversize object store and publishes a reference.',
  SLUICE_MYSQL_CONNECT: 'Could not connect to MySQL/MariaDB.',
  SLUICE_BINLOG_DISABLED: 'Binary logging is off on the MySQL/MariaDB server (log_bin=OFF).',
  SLUICE_BINLOG_FORMAT: 'binlog_format is not ROW.',
  SLUICE_BINLOG_ROW_IMAGE: 'binlog_row_image is not FULL.',
  SLUICE_BINLOG_ROW_METADATA: 'binlog_row_metadata is not FULL.',
  SLUICE_MYSQL_PRIVILEGES: 'The capture user lacks replication privileges or SELECT on a captured schema.',
  SLUICE_BINLOG_STREAM: 'The binlog stream failed and could not be resumed.',
  SLUICE_BINLOG_UNSUPPORTED:
    'The server writes binlog events capture cannot decode (MySQL binlog_transaction_compression=ON or binlog_row_value_options=PARTIAL_JSON).',
  SLUICE_BINLOG_STATEMENT_DML:
    'The binlog holds an INSERT, UPDATE or DELETE on a captured table as SQL text (binlog_format=STATEMENT in a session); its rows cannot be captured.',
  SLUICE_BINLOG_POSITION_PURGED: 'The checkpointed binlog position is no longer on the server.',
  SLUICE_BINLOG_RETENTION_LOW:
    "The binlog file of capture's checkpoint is close to being purged by the server; a restart after the purge could not resume.",
  SLUICE_DDL_UNRECOGNISED:
    'A statement in the binlog is not DDL that capture recognises; no event was published for it and capture went on.',
  SLUICE_TABLE_SHAPE_UNCERTAIN:
    "Rows were decoded with details from the table's current definition, which a later ALTER may have changed since they were written.",
  SLUICE_CHECKPOINT_CORRUPT: 'A stored capture checkpoint could not be read.',
  SLUICE_CHECKPOINT_FOREIGN:
    'A checkpoint without a GTID was taken on another MySQL server; its file and position mean nothing here.',
  SLUICE_CHECKPOINT_STALE:
    'Capture could not write its checkpoint for longer than twice capture.checkpointHeartbeatMs; it stopped publishing and restarts from the checkpoint.',
  SLUICE_RECONCILE_FAILED:
    'Capture could not read the events stream to find what was already stored before resuming; it retries.',
  SLUICE_RECONCILE_INCOMPLETE:
    'The scan of the events stream on resume did not cover everything after the checkpoint; what it missed is published again and only the dedupe window collapses it.',
  SLUICE_LEASE_LOST:
    "This capturer no longer holds its source's lease (another took over while it was paused or cut off); it stepped down.",
  SLUICE_BACKFILL_NO_PRIMARY_KEY:
    'A table to backfill has no primary key: its rows can be neither paged nor ordered against live changes.',
  SLUICE_BACKFILL_TABLE:
    'A table to backfill does not exist, is not captured by the source, is not InnoDB, or has a primary key that cannot be paged.',
  SLUICE_BACKFILL_NO_CHECKPOINT:
    'The source has no capture checkpoint yet: changes after the backfill read a row could be missed.',
  SLUICE_BACKFILL_CONFLICT:
    'Another backfill of the source is running, or an unfinished one covers other tables.',
  SLUICE_BACKFILL_LOCKED: 'A row stayed locked by another transaction for longer than the backfill waits.',
  SLUICE_NOTIFICATION_INVALID:
    'An object-store notification (S3 / MinIO Records) is malformed: not JSON, no Records, or a record without a bucket, key, event name or time.',
  SLUICE_NOTIFICATION_BUCKET:
    "An object-store notification names a bucket outside its source's buckets allow-list.",
  SLUICE_CODEC: 'A message could not be encoded or decoded.',
  SLUICE_EMBEDDED_BINARY_MISSING: 'An embedded server binary (nats-server, mariadbd) is not installed.',
  SLUICE_EMBEDDED_START_FAILED: 'An embedded server did not start or did not become ready in time.',
  SLUICE_EMBEDDED_IN_USE: 'The embedded data directory is already served by another process.',
  SLUICE_NOT_RUNNING: 'The embedded servers an admin command would use are not running.',
  SLUICE_USAGE: 'The command line was not understood.',
  SLUICE_UNKNOWN_ENDPOINT: 'The command names an endpoint id that is not in the configuration.',
  SLUICE_ENDPOINT_URL_BLOCKED:
    'An endpoint URL breaks the network policy: not http(s), credentials in it, or a host that is (or resolves to) an address outside public unicast and every allowed network.',
  SLUICE_DEAD_LETTER_NOT_FOUND: 'The DLQ stream holds no dead letter with the given sequence number.',
  SLUICE_INGEST_INVALID:
    'A request to the HTTP API is malformed: not JSON, not UTF-8, or not a valid CloudEvent (the message says which attribute).',
  SLUICE_INGEST_TOO_LARGE:
    'A request body is larger than api.bodyLimitBytes, or an event larger than NATS accepts.',
  SLUICE_UNSUPPORTED_MEDIA_TYPE: 'A request body has a Content-Type the route does not accept.',
  SLUICE_AUTH_REQUIRED:
    'An HTTP API request carries no API key, a malformed one, an unknown one, or a revoked one.',
  SLUICE_AUTH_FORBIDDEN: 'The API key is valid but its scope does not allow the route.',
  SLUICE_NOT_FOUND: 'No HTTP API route has this method and path.',
  SLUICE_HTTP_BAD_REQUEST: 'The request is not valid HTTP (a malformed request line or header).',
  SLUICE_HEADERS_TOO_LARGE: 'The request headers are larger than the HTTP server accepts.',
  SLUICE_REQUEST_TIMEOUT: 'The client did not send the whole request within api.requestTimeoutMs.',
  SLUICE_INTERNAL: 'An unexpected failure inside the HTTP API server; a bug.',
  SLUICE_API_LISTEN: 'The HTTP API server could not listen on api.host:api.port.',
  SLUICE_API_KEY_NOT_FOUND: 'The API keys bucket holds no key with the given id.',
  SLUICE_MAIN_KEY_MISSING:
    'An endpoint has a managed signing secret (no endpoints[].secret, or signing v1a/both) and SLUICE_MAIN_KEY is not set.',
  SLUICE_MAIN_KEY_INVALID:
    'SLUICE_MAIN_KEY (or the main.key file) is not the base64 encoding of exactly 32 bytes.',
  SLUICE_SECRET_UNREADABLE:
    'A signing secret stored in the secrets KV bucket could not be decrypted: another main key sealed it, or the record is damaged.',
  SLUICE_SECRET_INLINE:
    "The endpoint's signing secret is set inline in the configuration (endpoints[].secret); sluice does not manage it.",
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
