// The benchmark receiver, run as its own process so that its CPU is measured apart from the client
// under test: answers every POST (after BENCH_RECEIVER_DELAY_MS, for a slow endpoint), counts, and in latency mode records when each row id arrived on
// the system-wide monotonic clock (process.hrtime uses CLOCK_MONOTONIC, shared by all processes).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Messages the parent sends. */
export type ReceiverCommand = { cmd: 'stats' } | { cmd: 'reset' };

/** What the receiver reports. */
export interface ReceiverStats {
  readonly count: number;
  /** [row id, hrtime ns as string] pairs recorded since the last report (latency mode). */
  readonly arrivals: readonly (readonly [string, string])[];
}

const status = Number(process.env.BENCH_RECEIVER_STATUS ?? 204);
const latency = process.env.BENCH_RECEIVER_LATENCY === '1';
const delayMs = Number(process.env.BENCH_RECEIVER_DELAY_MS ?? 0);
let count = 0;
let arrivals: [string, string][] = [];

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => latency && chunks.push(c));
  req.on('end', () => {
    count++;
    if (latency) {
      const at = process.hrtime.bigint();
      try {
        const ev = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          data?: { after?: { id?: unknown } };
        };
        arrivals.push([String(ev.data?.after?.id), String(at)]);
      } catch {
        // not a CDC event: counted, not timed
      }
    }
    if (delayMs > 0) setTimeout(() => res.writeHead(status).end(), delayMs);
    else res.writeHead(status).end();
  });
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});

process.on('message', (m: ReceiverCommand) => {
  if (m.cmd === 'reset') {
    count = 0;
    arrivals = [];
  }
  const stats: ReceiverStats = { count, arrivals };
  arrivals = [];
  process.send?.(stats);
});

process.on('disconnect', () => process.exit(0));
