// The test harness: real servers and receivers as disposable resources, for integration and e2e tests.
export { startNats } from './nats.js';
export type { TestNats } from './nats.js';
export { startMysql } from './mysql.js';
export type { TestMysql, TestMysqlOptions } from './mysql.js';
export { startReceiver } from './receiver.js';
export type {
  ReceiverOptions,
  ReceiverWaitOptions,
  RecordedRequest,
  Respond,
  ResponseMode,
  TestReceiver,
} from './receiver.js';
export { waitFor } from './wait.js';
export type { WaitForOptions } from './wait.js';
export { uniqueName } from './names.js';
export { makeTempDir, removeTempDir, trackPid, untrackPid } from './leftovers.js';
export { spawnSluice, findSecretLeak, SLUICE_BIN } from './sluice.js';
export type { SluiceProcess, SpawnSluiceOptions } from './sluice.js';
export { storedMessages } from './streams.js';
export { parseStrictJson, strictLogLines } from './json-lines.js';
export { recordingLogger } from './logger.js';
