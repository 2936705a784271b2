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
  DeliveryHeaders,
  EventHeaders,
} from './names.js';
export type { NameSpace } from './names.js';
export { partitionOf } from './partition.js';
export { eventMessage } from './event-message.js';
export type { EventMessage, EventSpace } from './event-message.js';
export {
  cdcEventId,
  ingestEventId,
  deliveryId,
  retryMsgId,
  redriveMsgId,
  operationalEventId,
} from './event-id.js';
export type { CdcPosition } from './event-id.js';
export { cdcEvent, cdcEventType, encodeEvent, decodeEvent, encodeJson, decodeJson } from './envelope.js';
export type { CloudEvent, RowChange, RowOperation, CdcEventInput } from './envelope.js';
export { isValidTypePattern, compileTypePattern } from './type-pattern.js';
export type { TypeMatcher } from './type-pattern.js';
export { ConfigSchema, ENV_SECTIONS, DEFAULT_RETRY_SCHEDULE_MS } from './config-schema.js';
export type {
  Config,
  NatsConfig,
  LoggingConfig,
  EmbeddedConfig,
  SourceConfig,
  EndpointConfig,
  SubscriptionConfig,
  CaptureConfig,
  RouterConfig,
  DelivererConfig,
} from './config-schema.js';
export { loadConfig, buildConfig, envSettings, RESERVED_ENV } from './config.js';
export type { ConfigProblem, LoadConfigOptions } from './config.js';
export { createLogger, REDACT_PATHS } from './logger.js';
export type { Logger } from './logger.js';
export { connectNats, compareVersions, MIN_NATS_SERVER_VERSION } from './nats.js';
export type { ServerFacts, ConnectNatsOptions } from './nats.js';
export {
  provisionStreams,
  streamConfigs,
  openCheckpoints,
  openEndpointHealth,
  openLeases,
  openBackfill,
  openRateLimits,
  ensureDurable,
} from './provision.js';
export type { DurableSpec } from './provision.js';
export { startPullLoop } from './pull-loop.js';
export type { PullLoop, PullLoopOptions } from './pull-loop.js';
export { AckWindowPublisher } from './ack-window-publisher.js';
export type { PubAck, AckWindowOptions } from './ack-window-publisher.js';
