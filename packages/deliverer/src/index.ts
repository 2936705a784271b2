export { Deliverer } from './deliverer.js';
export type { DelivererOptions } from './deliverer.js';
export type { DelivererStats } from './endpoint-actor.js';
export { classify } from './outcome.js';
export type { Outcome, EndpointSignal, StatusPolicy, Classified } from './outcome.js';
export { nextAttempt, parseRetryAfter, scheduleSpanMs } from './retry-schedule.js';
export type { RetryPolicy, NextAttempt } from './retry-schedule.js';
export { closedBreaker, openBreaker, tick, admits, record } from './circuit-breaker.js';
export type { BreakerPolicy, BreakerState } from './circuit-breaker.js';
export { OperationalEventTypes, operationalEvent } from './operational-events.js';
export type { OperationalData } from './operational-events.js';
export { HttpDispatcher } from './http-dispatch.js';
export type { HttpResult, PostOptions } from './http-dispatch.js';
export {
  sign,
  signatureHeader,
  verify,
  webhookHeaders,
  secretKey,
  generateSecret,
  KeyCache,
} from './signature.js';
export type { VerifyResult, SigningKeys, HmacKey, Ed25519Key } from './signature.js';
export { EndpointKeys, managedKinds, needsMainKey } from './endpoint-keys.js';
export type { EndpointKeysOptions } from './endpoint-keys.js';
export { InProcessSender, postSigned } from './delivery-sender.js';
export type { DeliveryRequest, DeliverySender, DeliveryTarget, SenderOptions } from './delivery-sender.js';
export { DeliveryPool } from './delivery-pool.js';
export type { DeliveryPoolOptions } from './delivery-pool.js';
export { Batcher, timerScheduler } from './batcher.js';
export type { BatcherOptions, Scheduler } from './batcher.js';
export { encodeAttempt, decodeAttempt } from './attempt-record.js';
export type { AttemptRecord } from './attempt-record.js';
export { HEALTHY, encodeHealth, decodeHealth } from './endpoint-health.js';
export type { EndpointHealth } from './endpoint-health.js';
export { DiagnosticsChannels } from './diagnostics.js';
export type { EndpointStateMessage } from './diagnostics.js';
export { startDeliverer } from './start-deliverer.js';
