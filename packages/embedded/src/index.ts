// Embedded servers for a single machine: `sluice up` starts its own nats-server and mariadbd on free
// ports (docs/decisions/0004-embedded-mode.md); the test harness starts the same ones per test.
export { startEmbedded, withEmbeddedUrls, capturedSchemas } from './servers.js';
export type { EmbeddedPorts, EmbeddedServers } from './servers.js';
export { freePort, preferredPort } from './free-port.js';
export { startNatsServer } from './nats-server.js';
export type { EmbeddedNats, StartNatsOptions } from './nats-server.js';
export { startMariadb, mariadbAnswers, mariadbSocket, EMBEDDED_CAPTURE_USER } from './mariadb.js';
export type { EmbeddedMariadb, StartMariadbOptions } from './mariadb.js';
export type { EmbeddedServer } from './process.js';
export { findBinary } from './process.js';
