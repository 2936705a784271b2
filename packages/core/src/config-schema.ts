import { Type, type Static } from '@sinclair/typebox';

// One schema with defaults and units; defaults live here and nowhere else. Every object is closed
// (additionalProperties: false) so that a misspelt key is an error, not a silently ignored setting.
// docs/configuration.md documents every key; config-docs.test.ts keeps the two in sync.

// Pattern errors say `expected <description>`: a description reads as what to write, not as a regex.
const Id = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$',
  description: 'an id: a letter or digit, then up to 63 letters, digits, _ or -',
});
const closed = { additionalProperties: false } as const;

/** A retry schedule: the delay before each attempt, ms; the first is the delay of the first attempt. */
const Schedule = Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 100 });

/** The default retry schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (≈ 75.6 h). */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  0,
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3600_000,
  5 * 3600_000,
  10 * 3600_000,
  14 * 3600_000,
  20 * 3600_000,
  24 * 3600_000,
];

export const NatsSchema = Type.Object(
  {
    url: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'NATS server URL(s), comma-separated. Absent → sluice starts an embedded nats-server.',
      }),
    ),
    prefix: Type.String({
      default: 'sluice',
      pattern: '^[a-z][a-z0-9_-]{0,31}$',
      description: 'a lower-case letter, then up to 31 of a–z, 0–9, _ or -',
    }),
    partitions: Type.Integer({ default: 16, minimum: 1, maximum: 1024 }),
    replicas: Type.Integer({ default: 1, minimum: 1, maximum: 5 }),
    eventsMaxAgeMs: Type.Integer({ default: 7 * 24 * 3600_000, minimum: 60_000 }),
    eventsMaxBytes: Type.Integer({ default: -1, minimum: -1 }),
    deliveriesMaxAgeMs: Type.Integer({ default: 14 * 24 * 3600_000, minimum: 60_000 }),
    deliveriesMaxBytes: Type.Integer({ default: -1, minimum: -1 }),
    retriesMaxAgeMs: Type.Integer({ default: 14 * 24 * 3600_000, minimum: 60_000 }),
    dlqMaxAgeMs: Type.Integer({ default: 30 * 24 * 3600_000, minimum: 60_000 }),
    dlqMaxBytes: Type.Integer({ default: -1, minimum: -1 }),
    attemptsMaxAgeMs: Type.Integer({ default: 7 * 24 * 3600_000, minimum: 60_000 }),
    attemptsMaxBytes: Type.Integer({ default: 1024 ** 3, minimum: -1 }),
    duplicateWindowMs: Type.Integer({ default: 120_000, minimum: 1_000 }),
    connectTimeoutMs: Type.Integer({ default: 5_000, minimum: 100 }),
    // Authentication: at most one kind (config-checks.ts), docs/nats-security.md. Files are read at
    // connect time, so that a rotated credential needs a restart and not a new configuration.
    user: Type.Optional(Type.String({ minLength: 1 })),
    pass: Type.Optional(Type.String()),
    token: Type.Optional(Type.String({ minLength: 1 })),
    nkeySeedFile: Type.Optional(
      Type.String({ minLength: 1, description: 'path of a file holding an nkey seed' }),
    ),
    credsFile: Type.Optional(
      Type.String({ minLength: 1, description: 'path of a .creds file (JWT and seed)' }),
    ),
    // TLS: required when true or when any tls* setting is given.
    tls: Type.Boolean({ default: false }),
    tlsCaFile: Type.Optional(Type.String({ minLength: 1 })),
    tlsCertFile: Type.Optional(Type.String({ minLength: 1 })),
    tlsKeyFile: Type.Optional(Type.String({ minLength: 1 })),
    tlsHandshakeFirst: Type.Boolean({ default: false }),
    // false: streams and buckets are only looked up, never created or changed (docs/nats-security.md).
    provision: Type.Boolean({ default: true }),
  },
  closed,
);

export const LoggingSchema = Type.Object(
  {
    level: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
    pretty: Type.Boolean({ default: false }),
  },
  closed,
);

export const EmbeddedSchema = Type.Object(
  {
    dataDir: Type.String({ default: '.sluice', minLength: 1 }),
    initSql: Type.Array(Type.String(), { default: [] }),
  },
  closed,
);

/** A MySQL/MariaDB server captured through its binlog; `kind` may be left out. */
export const MysqlSourceSchema = Type.Object(
  {
    id: Id,
    kind: Type.Literal('mysql', { default: 'mysql' }),
    url: Type.Optional(
      Type.String({ minLength: 1, description: 'mysql://user:pass@host:port. Absent → embedded mariadbd.' }),
    ),
    serverId: Type.Integer({ default: 48_151, minimum: 1, maximum: 4_294_967_295 }),
    include: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    exclude: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  },
  closed,
);

// A NATS subject MinIO can publish to: literal tokens or `*`, an optional trailing `>`.
const NatsSubject = Type.String({
  pattern: '^(?:[^\\s.*>]+|\\*)(?:\\.(?:[^\\s.*>]+|\\*))*(?:\\.>)?$',
  description: 'a NATS subject such as minio.events (tokens or *, and an optional trailing .>)',
});

/**
 * An S3 / MinIO bucket whose notifications become `object.created` / `object.removed` events
 * (docs/object-store.md): posted to `POST /v1/sources/<id>/notifications`, or published by MinIO to
 * `nats.subject`.
 */
export const S3SourceSchema = Type.Object(
  {
    id: Id,
    kind: Type.Literal('s3'),
    nats: Type.Optional(Type.Object({ subject: NatsSubject }, closed)),
    buckets: Type.Optional(
      Type.Array(
        Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$', description: 'a bucket name' }),
        {
          minItems: 1,
          maxItems: 1000,
        },
      ),
    ),
  },
  closed,
);

/** One item of `sources[]`: told apart by `kind` (`mysql` when absent). */
export const SourceSchema = Type.Union([MysqlSourceSchema, S3SourceSchema]);

/** What a signing secret looks like, as configuration errors say it. */
export const SECRET_FORMAT =
  'whsec_ followed by base64 of 24–64 random bytes (make one: echo "whsec_$(openssl rand -base64 32)")';
const SECRET_PATTERN = '^whsec_[A-Za-z0-9+/]+={0,2}$';

export const EndpointSchema = Type.Object(
  {
    id: Id,
    url: Type.String({ minLength: 1 }),
    // Absent → a secret sluice generates and keeps sealed in <prefix>_secrets (docs/signing.md).
    secret: Type.Optional(Type.String({ pattern: SECRET_PATTERN, description: SECRET_FORMAT })),
    signing: Type.Union([Type.Literal('v1'), Type.Literal('v1a'), Type.Literal('both')], { default: 'v1' }),
    timeoutMs: Type.Integer({ default: 10_000, minimum: 100 }),
    connectTimeoutMs: Type.Integer({ default: 5_000, minimum: 100 }),
    headersTimeoutMs: Type.Optional(Type.Integer({ minimum: 100 })),
    enabled: Type.Boolean({ default: true }),
    maxInFlight: Type.Integer({ default: 64, minimum: 1, maximum: 10_000 }),
    ratePerSecond: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    retrySchedule: Type.Optional(Schedule),
    // Network policy (docs/network-policy.md): CIDRs this endpoint may reach beyond public unicast.
    allowNetworks: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 256 })),
  },
  closed,
);

export const SubscriptionSchema = Type.Object(
  {
    id: Id,
    endpoint: Id,
    types: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    retrySchedule: Type.Optional(Schedule),
  },
  closed,
);

export const CaptureSchema = Type.Object(
  {
    publishWindow: Type.Integer({ default: 1024, minimum: 1, maximum: 65_536 }),
    publishTimeoutMs: Type.Integer({ default: 10_000, minimum: 100 }),
    checkpointIntervalMs: Type.Integer({ default: 500, minimum: 10 }),
    checkpointHeartbeatMs: Type.Integer({ default: 10_000, minimum: 100 }),
    reconcileMaxMessages: Type.Integer({ default: 1_000_000, minimum: 1 }),
    reconcileTimeoutMs: Type.Integer({ default: 60_000, minimum: 100 }),
    reconnectMinMs: Type.Integer({ default: 250, minimum: 10 }),
    reconnectMaxMs: Type.Integer({ default: 30_000, minimum: 10 }),
    leaseTtlMs: Type.Integer({ default: 10_000, minimum: 300 }),
    leaseSkewMs: Type.Integer({ default: 1_000, minimum: 0 }),
    // Binlog retention guard (docs/decisions/0012-oversize-and-retention.md): 0 turns the check off.
    retentionCheckIntervalMs: Type.Integer({ default: 60_000, minimum: 0 }),
    retentionMarginFiles: Type.Integer({ default: 1, minimum: 0 }),
    retentionMarginMs: Type.Integer({ default: 6 * 3600_000, minimum: 0 }),
    // DML written as SQL text on a captured table (a session with binlog_format=STATEMENT): its rows
    // are in no row event. `fail` stops capture with SLUICE_BINLOG_STATEMENT_DML; `skip` warns.
    onStatementDml: Type.Union([Type.Literal('fail'), Type.Literal('skip')], { default: 'fail' }),
  },
  closed,
);

export const RouterSchema = Type.Object(
  {
    maxAckPending: Type.Integer({ default: 1024, minimum: 1 }),
    publishWindow: Type.Integer({ default: 1024, minimum: 1, maximum: 65_536 }),
    ackWaitMs: Type.Integer({ default: 30_000, minimum: 1_000 }),
  },
  closed,
);

export const DelivererSchema = Type.Object(
  {
    concurrency: Type.Integer({ default: 128, minimum: 1, maximum: 10_000 }),
    ackWaitMs: Type.Integer({ default: 30_000, minimum: 1_000 }),
    retrySchedule: Type.Array(Type.Integer({ minimum: 0 }), {
      minItems: 1,
      maxItems: 100,
      default: [...DEFAULT_RETRY_SCHEDULE_MS],
    }),
    retryJitter: Type.Number({ default: 0.2, minimum: 0, maximum: 1 }),
    retryAfterMaxMs: Type.Integer({ default: 24 * 3600_000, minimum: 0 }),
    retryMaxWaiting: Type.Integer({ default: 100_000, minimum: 1 }),
    nonRetryableStatuses: Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), {
      default: [400, 401, 403, 404, 413, 422],
    }),
    throttleStatuses: Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), {
      default: [429, 502, 503, 504],
    }),
    breakerWindowMs: Type.Integer({ default: 30_000, minimum: 10 }),
    breakerMinRequests: Type.Integer({ default: 20, minimum: 1 }),
    breakerFailureRatio: Type.Number({ default: 0.5, exclusiveMinimum: 0, maximum: 1 }),
    // Failures in a row that open the breaker whatever the window holds; 0 leaves only the ratio.
    breakerConsecutiveFailures: Type.Integer({ default: 5, minimum: 0 }),
    breakerOpenMs: Type.Integer({ default: 30_000, minimum: 10 }),
    breakerMaxOpenMs: Type.Integer({ default: 600_000, minimum: 10 }),
    breakerProbes: Type.Integer({ default: 1, minimum: 1, maximum: 1_000 }),
    disableAfterMs: Type.Integer({ default: 5 * 24 * 3600_000, minimum: 10 }),
    responseExcerptBytes: Type.Integer({ default: 1024, minimum: 0, maximum: 65_536 }),
    connectionsPerOrigin: Type.Integer({ default: 32, minimum: 1, maximum: 1024 }),
    // Where the POSTs run: on the main thread, or batched into a Piscina worker pool. The default is
    // whichever the benchmark measured faster (docs/decisions/0006-delivery-worker-pool.md).
    mode: Type.Union([Type.Literal('in-process'), Type.Literal('pool')], { default: 'pool' }),
    poolThreads: Type.Integer({ default: 2, minimum: 1, maximum: 64 }),
    poolBatch: Type.Integer({ default: 64, minimum: 1, maximum: 1024 }),
    poolBatchWaitMs: Type.Integer({ default: 0, minimum: 0, maximum: 1_000 }),
    // Network policy (docs/network-policy.md): CIDRs every endpoint may reach beyond public unicast.
    allowNetworks: Type.Array(Type.String({ minLength: 1 }), { default: [], maxItems: 256 }),
    // DNS servers (`ip` or `ip:port`) the network guard resolves endpoint hosts with; unset: the system resolver.
    dnsServers: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 16 })),
  },
  closed,
);

export const ApiSchema = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', minLength: 1 }),
    port: Type.Integer({ default: 8480, minimum: 0, maximum: 65_535 }),
    bodyLimitBytes: Type.Integer({ default: 1024 * 1024, minimum: 1024, maximum: 64 * 1024 * 1024 }),
    maxBatchEvents: Type.Integer({ default: 100, minimum: 1, maximum: 10_000 }),
    idempotencyTtlMs: Type.Integer({ default: 24 * 3600_000, minimum: 60_000 }),
    publishTimeoutMs: Type.Integer({ default: 10_000, minimum: 100 }),
    requestTimeoutMs: Type.Integer({ default: 30_000, minimum: 1_000 }),
  },
  closed,
);

/** The whole configuration, after defaults. */
export const ConfigSchema = Type.Object(
  {
    nats: NatsSchema,
    logging: LoggingSchema,
    embedded: EmbeddedSchema,
    capture: CaptureSchema,
    router: RouterSchema,
    deliverer: DelivererSchema,
    api: ApiSchema,
    sources: Type.Array(SourceSchema, { default: [] }),
    endpoints: Type.Array(EndpointSchema, { default: [] }),
    subscriptions: Type.Array(SubscriptionSchema, { default: [] }),
  },
  closed,
);

/** The validated, frozen configuration. */
export type Config = Static<typeof ConfigSchema>;
export type NatsConfig = Config['nats'];
export type LoggingConfig = Config['logging'];
export type EmbeddedConfig = Config['embedded'];
export type SourceConfig = Config['sources'][number];
export type MysqlSourceConfig = Extract<SourceConfig, { kind: 'mysql' }>;
export type S3SourceConfig = Extract<SourceConfig, { kind: 's3' }>;
export type EndpointConfig = Config['endpoints'][number];
export type SubscriptionConfig = Config['subscriptions'][number];
export type CaptureConfig = Config['capture'];
export type RouterConfig = Config['router'];
export type DelivererConfig = Config['deliverer'];
export type ApiConfig = Config['api'];

/** The MySQL/MariaDB sources of a configuration (binlog capture, backfill, doctor, embedded mariadbd). */
export function mysqlSources(config: Pick<Config, 'sources'>): MysqlSourceConfig[] {
  return config.sources.filter((s): s is MysqlSourceConfig => s.kind === 'mysql');
}

/** The object-store sources of a configuration. */
export function s3Sources(config: Pick<Config, 'sources'>): S3SourceConfig[] {
  return config.sources.filter((s): s is S3SourceConfig => s.kind === 's3');
}

/** Top-level sections whose scalar keys can be set through `SLUICE_<SECTION>_<KEY>`. */
export const ENV_SECTIONS = ['nats', 'logging', 'embedded', 'capture', 'router', 'deliverer', 'api'] as const;
