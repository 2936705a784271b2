// What other packages use: the CLI runs a Deliverer, reads attempt records and endpoint health, and
// manages signing secrets. Everything else is internal; this package's tests import it by path.
export { Deliverer } from './deliverer.js';
export { encodeAttempt, decodeAttempt } from './attempt-record.js';
export type { AttemptRecord } from './attempt-record.js';
export { encodeHealth, decodeHealth } from './endpoint-health.js';
export type { EndpointHealth } from './endpoint-health.js';
export { generateSecret, secretKey, verify } from './signature.js';
export { managedKinds, needsMainKey } from './endpoint-keys.js';
export { startDeliverer } from './start-deliverer.js';
