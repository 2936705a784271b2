import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@sluice/core';

/** A logger at info level whose records (each JSON line, parsed) a test can inspect. */
export function recordingLogger(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line !== '') records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level: 'info', pretty: false }, sink), records };
}
