import { Writable } from 'node:stream';
import { pino, type Logger, type DestinationStream } from 'pino';
import type { LoggingConfig } from './config-schema.js';

export type { Logger };

/**
 * Paths pino removes from every log line: signing secrets, credentials and signature headers must never
 * reach a log (I7 in docs/architecture.md). Besides the values themselves: a delivery target's `keys`,
 * opened `secrets`, `sealed` records and ed25519 `privateKey`/`seed` fields, wherever one is logged by
 * mistake. Values inside strings (an error message) are not caught here; the e2e harness checks every
 * child's output for secret prefixes instead.
 */
export const REDACT_PATHS = [
  'secret',
  '*.secret',
  'secrets',
  '*.secrets',
  'keys',
  '*.keys',
  'sealed',
  '*.sealed',
  'privateKey',
  '*.privateKey',
  'seed',
  '*.seed',
  'mainKey',
  '*.mainKey',
  'password',
  '*.password',
  'pass',
  '*.pass',
  'token',
  '*.token',
  'headers["webhook-signature"]',
  '*.headers["webhook-signature"]',
  'headers.authorization',
  '*.headers.authorization',
];

/**
 * Creates the root logger, writing to stderr (stdout belongs to command output and the demo
 * receiver). Components take `logger.child({ component })` and add their own keys (`sourceId`,
 * `endpointId`, …). Payload bodies are never logged by default.
 */
export function createLogger(config: LoggingConfig, destination?: DestinationStream): Logger {
  const dest = destination ?? (config.pretty ? prettyStderr() : pino.destination(2));
  return pino(
    {
      level: config.level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    dest,
  );
}

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const OMIT = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component']);

/** `12:00:01 INFO  capture  msg key=value …` lines for people at a terminal (`logging.pretty`). */
function prettyStderr(): DestinationStream {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        const o = JSON.parse(line) as Record<string, unknown>;
        const time = new Date(o.time as number).toISOString().slice(11, 19);
        const rest = Object.entries(o)
          .filter(([k]) => !OMIT.has(k))
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        process.stderr.write(
          `${time} ${(LEVELS[o.level as number] ?? '?').padEnd(5)} ${String(o.component ?? '').padEnd(9)} ${String(o.msg ?? '')} ${rest}\n`,
        );
      }
      done();
    },
  });
}
