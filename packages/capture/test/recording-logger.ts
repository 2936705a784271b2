import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@sluice/core';

/**
 * A logger at info level whose records (each JSON line, parsed) a test can inspect. Every line must
 * be JSON without a key repeated in one object, as strict log pipelines require: a line that is not
 * fails the test run.
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
            throw err;
          });
        }
      }
      done();
    },
  });
  return { logger: createLogger({ level: 'info', pretty: false }, sink), records };
}

/**
 * `JSON.parse`, failing also on an object with the same key twice (which `JSON.parse` resolves to the
 * last value). The text is valid JSON once `JSON.parse` accepted it, so a scan of its strings and
 * brackets finds every key.
 */
export function parseStrictJson(text: string): unknown {
  const value = JSON.parse(text) as unknown;
  const objects: (Set<string> | undefined)[] = []; // undefined: an array
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = objects.at(-1);
      if (keyNext && keys !== undefined) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) throw new Error(`duplicate key "${key}" in log line ${text.slice(0, 300)}`);
        keys.add(key);
      }
      keyNext = false;
      i = end;
    } else if (c === '{') {
      objects.push(new Set());
      keyNext = true;
    } else if (c === '[') {
      objects.push(undefined);
    } else if (c === '}' || c === ']') {
      objects.pop();
    } else if (c === ',') {
      keyNext = objects.at(-1) !== undefined;
    }
  }
  return value;
}
