export { ErrorCodes, SluiceError, isSluiceError } from './errors.js';
export type { ErrorCode, SluiceErrorOptions } from './errors.js';
export {
  eventsStream,
  deliveriesStream,
  eventsStreamSubjects,
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
  retrySubject,
  dlqSubject,
  dlqEndpointFilter,
  attemptSubject,
  attemptsFilter,
  endpointsBucket,
  secretsBucket,
  idempotencyBucket,
  oversizeBucket,
  backfillBucket,
  partitionFromDeliverySubject,
  checkpointsBucket,
  typeFromEventSubject,
  partitionFromEventSubject,
} from './names.js';
export type { NameSpace } from './names.js';
export { partitionOf } from './partition.js';
export { EventHeaders, eventAddress, eventMessage, readEventHeaders } from './event-message.js';
export type { EventAddress, EventMessage, EventSpace } from './event-message.js';
export {
  DeliveryHeaders,
  deliveryId,
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
export type { DeliveryRef, DeadLetterCause, DeliveryMessage } from './delivery-message.js';
export { cdcEventId, ingestEventId, operationalEventId, objectEventId } from './event-id.js';
export type { ObjectNotificationRef } from './event-id.js';
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
export { compileTypePattern } from './type-pattern.js';
export type { TypeMatcher } from './type-pattern.js';
export { NetworkPolicy, blockedMessage } from './network-policy.js';
export type { AddressVerdict, UrlVerdict } from './network-policy.js';
export { DEFAULT_RETRY_SCHEDULE_MS, mysqlSources, s3Sources } from './config-schema.js';
export type {
  Config,
  NatsConfig,
  MysqlSourceConfig,
  EndpointConfig,
  SubscriptionConfig,
  CaptureConfig,
  RouterConfig,
  DelivererConfig,
} from './config-schema.js';
export { loadConfig, buildConfig, RESERVED_ENV } from './config.js';
export type { LoadConfigOptions } from './config.js';
export type { ConfigProblem } from './config-checks.js';
export { createLogger, REDACT_PATHS } from './logger.js';
export type { Logger } from './logger.js';
export { startInOrder } from './role-handle.js';
export type { RoleContext, RoleHandle } from './role-handle.js';
export { connectNats, MIN_NATS_SERVER_VERSION } from './nats.js';
export type { ConnectNatsOptions } from './nats.js';
export { redactNatsUrl } from './nats-auth.js';
export type { NatsSecurity } from './nats-auth.js';
export { provisionAll, provisionStreams, ensureDurable, provisionNotifications } from './provision.js';
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
export type { NotificationsSpec } from './provision.js';
export {
  API_KEY_SCOPES,
  ApiKeyCache,
  ApiKeyStore,
  generateApiKey,
  hashApiKey,
  keyFromAuthorization,
  keyMatches,
  parseApiKey,
  scopeAllows,
} from './api-keys.js';
export type { ApiKeyRecord, ApiKeyScope, ParsedApiKey } from './api-keys.js';
export { MainKey, isSealedSecret } from './secret-box.js';
export type { SealedSecret } from './secret-box.js';
export { SigningSecretStore, openSecretsRecord } from './signing-secrets.js';
export type { SecretKinds, EndpointSecrets } from './signing-secrets.js';
export { startPullLoop } from './pull-loop.js';
export type { PullLoop, PullLoopOptions } from './pull-loop.js';
export { AckWindowPublisher } from './ack-window-publisher.js';
export type { PubAck, AckWindowOptions } from './ack-window-publisher.js';
