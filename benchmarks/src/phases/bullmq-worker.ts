// Child process of the bullmq phase: a BullMQ Worker whose processor POSTs each job's body to the
// receiver with undici Pool.request (the raw-http client) and throws on a non-2xx answer, so that
// BullMQ's retry machinery applies. Run apart from the harness that fills the queue, so that its CPU
// is the worker's alone. Argument: JSON {@link BullmqWorkerArgs}.
import { Worker, type Job } from 'bullmq';
import { Pool } from 'undici';
import { Counter, serveCounts } from './counting-child.js';

/** What the parent passes. */
export interface BullmqWorkerArgs {
  readonly host: string;
  readonly port: number;
  readonly queue: string;
  readonly url: string;
  readonly concurrency: number;
  /** Completed jobs after which the worker reports that the backlog is done. */
  readonly jobs: number;
}

/** A job's data: the ~1 KB POST body. */
export interface DeliveryJob {
  readonly body: string;
}

const args = JSON.parse(process.argv[2]!) as BullmqWorkerArgs;
const url = new URL(args.url);
const pool = new Pool(url.origin, { connections: args.concurrency });
const headers = { 'content-type': 'application/cloudevents+json' };
const counter = new Counter(args.jobs);

const worker = new Worker<DeliveryJob>(
  args.queue,
  async (job: Job<DeliveryJob>) => {
    const res = await pool.request({ method: 'POST', path: url.pathname, headers, body: job.data.body });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`);
  },
  {
    connection: { host: args.host, port: args.port, maxRetriesPerRequest: null },
    concurrency: args.concurrency,
    autorun: false,
  },
);
const served = serveCounts(counter, {
  close: async () => {
    await worker.close(true);
    await pool.close();
  },
  pause: () => worker.pause(),
  resume: async () => worker.resume(),
});
worker.on('completed', () => counter.add(1));
worker.on('error', (err) => served.fail(err));
await worker.waitUntilReady();
served.ready();
void worker.run().catch((err: unknown) => served.fail(err));
