// Shared pieces of the throughput scripts: throwaway servers (the same starters `sluice up` uses),
// the bench table and its rows, and a counting receiver. Numbers for notes, never test assertions.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { startMariadb, startNatsServer } from '@sluice/cli';

export const TABLE_SQL =
  "CREATE TABLE bench.orders (id BIGINT PRIMARY KEY, customer INT, status VARCHAR(16), total DECIMAL(12,2), created DATETIME(6), note TEXT, flags SET('a','b','c'))";

/** Starts nats-server and mariadbd in a temporary directory; `stop()` removes it. */
export async function startServers() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const nats = await startNatsServer({ dataDir: join(dir, 'nats') });
  const db = await startMariadb({ dataDir: join(dir, 'db'), initSql: ['CREATE DATABASE bench', TABLE_SQL] });
  return {
    natsUrl: nats.url,
    rootUrl: db.rootUrl,
    captureUrl: db.captureUrl,
    async stop() {
      await db.stop();
      await nats.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Inserts `rows` rows in multi-row INSERTs of `perInsert` rows. */
export async function insertRows(url, rows, perInsert) {
  const db = await createConnection(url);
  try {
    for (let i = 0; i < rows; i += perInsert) {
      const values = Array.from(
        { length: Math.min(perInsert, rows - i) },
        (_, k) =>
          `(${i + k + 1}, ${(i + k) % 977}, 'paid', ${((i + k) * 7) % 100000}.25, NOW(6), 'a note of some length for the row', 'a,c')`,
      );
      await db.query(`INSERT INTO bench.orders VALUES ${values.join(',')}`);
    }
  } finally {
    await db.end();
  }
}

/** An HTTP receiver on 127.0.0.1 that answers 204 and counts requests. */
export async function startCountingReceiver() {
  let count = 0;
  let first = 0;
  let last = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      const now = performance.now();
      if (first === 0) first = now;
      last = now;
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    get count() {
      return count;
    },
    get first() {
      return first;
    },
    get last() {
      return last;
    },
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))),
  };
}

/** Polls `fn` every 20 ms until it is truthy, failing after `timeoutMs`. */
export async function until(what, fn, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 1/100 s). */
export function cpuSeconds(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name start at field 3 (state); utime and stime are fields 14 and 15.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
