export { ErrorCodes, SluiceError, isSluiceError } from './errors.js';
export type { ErrorCode, SluiceErrorOptions } from './errors.js';
export {
  isValidPrefix,
  eventsStream,
  deliveriesStream,
  eventsStreamSubjects,
  deliveriesStreamSubjects,
  eventSubject,
  eventPartitionFilter,
  deliverySubject,
  deliveryEndpointFilter,
  routerConsumer,
  endpointConsumer,
  retrySchedulerConsumer,
  notificationsStream,
  notificationsConsumer,
  retriesStream,
  dlqStream,
  attemptsStream,
  retriesStreamSubjects,
  dlqStreamSubjects,
  attemptsStreamSubjects,
  retrySubject,
  dlqSubject,
  dlqEndpointFilter,
  attemptSubject,
  attemptsFilter,
  endpointsBucket,
  apiKeysBucket,
  secretsBucket,
  idempotencyBucket,
  leasesBucket,
  oversizeBucket,
  backfillBucket,
  rateLimitBucket,
  partitionFromDeliverySubject,
  checkpointsBucket,
  typeFromEventSubject,
  partitionFromEventSubject,
  escapeToken,
  unescapeToken,
} from './names.js';
export type { NameSpace } from './names.js';
export { partitionOf } from './partition.js';
export { EventHeaders, eventAddress, eventMessage, readEventHeaders } from './event-message.js';
export type { EventAddress, EventMessage, EventSpace } from './event-message.js';
export {
  DeliveryHeaders,
  deliveryId,
  retryMsgId,
  redriveMsgId,
  routedDelivery,
  retryMessage,
  requeuedDelivery,
  deadLetterMessage,
  redrivenDelivery,
  readDelivery,
  readRetryDue,
  readDeadLetter,
} from './delivery-message.js';
export type {
  DeliveryIdentity,
  DeliveryRef,
  DeadLetterCause,
  DeliveryMessage,
  StoredDeadLetter,
} from './delivery-message.js';
export { cdcEventId, ingestEventId, operationalEventId, objectEventId } from './event-id.js';
export type { CdcPosition, ObjectNotificationRef } from './event-id.js';
export {
  cdcEvent,
  cdcEventType,
  ddlEventType,
  encodeEvent,
  decodeEvent,
  encodeJson,
  decodeJson,
} from './envelope.js';
export type { CloudEvent, IngestCloudEvent, RowChange, RowOperation, CdcEventInput } from './envelope.js';
export { isValidTypePattern, compileTypePattern } from './type-pattern.js';
export type { TypeMatcher } from './type-pattern.js';
export { NetworkPolicy, parseNetwork, blockedMessage } from './network-policy.js';
export type { AddressVerdict, IpAddress, UrlVerdict } from './network-policy.js';
export {
  ConfigSchema,
  ENV_SECTIONS,
  DEFAULT_RETRY_SCHEDULE_MS,
  mysqlSources,
  s3Sources,
} from './config-schema.js';
export type {
  Config,
  NatsConfig,
  LoggingConfig,
  EmbeddedConfig,
  SourceConfig,
  MysqlSourceConfig,
  S3SourceConfig,
  EndpointConfig,
  SubscriptionConfig,
  CaptureConfig,
  RouterConfig,
  DelivererConfig,
  ApiConfig,
} from './config-schema.js';
export { loadConfig, buildConfig, envSettings, RESERVED_ENV } from './config.js';
export type { LoadConfigOptions } from './config.js';
export type { ConfigProblem } from './config-checks.js';
export { createLogger, REDACT_PATHS } from './logger.js';
export type { Logger } from './logger.js';
export { startInOrder } from './role-handle.js';
export type { RoleContext, RoleHandle } from './role-handle.js';
export { connectNats, compareVersions, MIN_NATS_SERVER_VERSION } from './nats.js';
export type { ServerFacts, ConnectNatsOptions } from './nats.js';
export { natsSecurity, redactNatsUrl } from './nats-auth.js';
export type { NatsAuthKind, NatsSecurity } from './nats-auth.js';
export {
  provisionAll,
  provisionStreams,
  streamConfigs,
  ensureDurable,
  provisionNotifications,
} from './provision.js';
export {
  openCheckpoints,
  openEndpointHealth,
  openLeases,
  openBackfill,
  openRateLimits,
  openApiKeys,
  openSecrets,
  openIdempotency,
} from './kv-buckets.js';
export type { DurableSpec, NotificationsSpec } from './provision.js';
export {
  API_KEY_PREFIX,
  API_KEY_SCOPES,
  ApiKeyCache,
  ApiKeyStore,
  decodeApiKeyRecord,
  encodeApiKeyRecord,
  generateApiKey,
  hashApiKey,
  isApiKeyId,
  isApiKeyName,
  keyFromAuthorization,
  keyMatches,
  parseApiKey,
  scopeAllows,
} from './api-keys.js';
export type { ApiKeyRecord, ApiKeyScope, NewApiKey, ParsedApiKey } from './api-keys.js';
export { MainKey, MAIN_KEY_BYTES, isSealedSecret } from './secret-box.js';
export type { SealedSecret } from './secret-box.js';
export {
  SigningSecretStore,
  openSecretsRecord,
  ed25519PublicKey,
  ed25519Pkcs8,
  HMAC_SECRET_PREFIX,
  ED25519_PUBLIC_PREFIX,
  ED25519_PRIVATE_PREFIX,
  MAX_SECRETS_PER_KIND,
} from './signing-secrets.js';
export type { SecretKinds, HmacSecret, Ed25519Secret, EndpointSecrets } from './signing-secrets.js';
export { startPullLoop } from './pull-loop.js';
export type { PullLoop, PullLoopOptions } from './pull-loop.js';
export { AckWindowPublisher } from './ack-window-publisher.js';
export type { PubAck, AckWindowOptions } from './ack-window-publisher.js';
