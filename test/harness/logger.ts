import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@sluice/core';
import { parseStrictJson } from './json-lines.js';

/**
 * A logger at info level whose records (each JSON line, parsed) a test can inspect. Every line must
 * be strict JSON without a key repeated in one object, as strict log pipelines require: a line that is
 * not fails the test run.
 */
export function recordingLogger(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        try {
          records.push(parseStrictJson(line) as Record<string, unknown>);
        } catch (err) {
          // Thrown outside the logging call, so that the code under test never sees it: an uncaught
          // exception, which fails the test run.
          process.nextTick(() => {
            throw new Error(`${(err as Error).message}: ${line.slice(0, 300)}`);
          });
        }
      }
      done();
    },
  });
  return { logger: createLogger({ level: 'info', pretty: false }, sink), records };
}
