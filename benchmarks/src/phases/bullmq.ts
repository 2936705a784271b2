import { fileURLToPath } from 'node:url';
import { Queue, type JobsOptions } from 'bullmq';
import { postBody1k } from '../payloads.js';
import { figures, type Phase } from '../phase.js';
import type { BullmqWorkerArgs, DeliveryJob } from './bullmq-worker.js';
import { forkCountingChild, type CountingChild } from './counting-child.js';
import { backlogSize, calibrate, measureWindow } from './ref-window.js';

const WORKER = fileURLToPath(new URL('./bullmq-worker.js', import.meta.url));
const QUEUE = 'bench-deliveries';
/** Jobs added and processed once to calibrate the worker's rate. */
const CALIBRATION = 10_000;
/** Most jobs the queue holds (~1.3 KB each in Redis). */
const CAP = 600_000;
const ADD_BULK = 1_000;
/** What a Node team would configure for webhook deliveries: retries with backoff, no completed-job pile-up. */
const JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: true,
};

/**
 * What a Node team would build instead of sluice's deliverer: a BullMQ 5 queue on Redis
 * (redis-server from the OS package, persistence off) holding one job per delivery with the ~1 KB
 * body, `attempts: 10`, exponential backoff and `removeOnComplete`, and a Worker (concurrency =
 * `--concurrency`) in its own process POSTing each body with undici `Pool.request` — the raw-http
 * client — and throwing on a non-2xx answer. The queue is filled before the window (sized from a
 * short calibration, at most 600 k jobs, the worker paused while it is topped up), so the window meters
 * only draining, like the deliverer phase over its pre-filled stream: deliverer / bullmq compares
 * the two at the same job. Counts completed jobs. Processes: the worker, redis-server, the receiver.
 */
export const bullmq: Phase = {
  name: 'bullmq',
  title: 'BullMQ worker (attempts + exponential backoff) POSTing with undici → receiver',
  kind: 'reference',
  async run(ctx) {
    const redis = await ctx.infra.redis();
    const receiver = await ctx.infra.receiver();
    const connection = { host: redis.host, port: redis.port };
    const queue = new Queue<DeliveryJob>(QUEUE, { connection });
    const bodies = Array.from({ length: 64 }, (_, i) => postBody1k(i).toString('utf8'));
    let stocked = 0;
    const add = async (n: number): Promise<void> => {
      for (let done = 0; done < n; done += ADD_BULK) {
        const jobs = Array.from({ length: Math.min(ADD_BULK, n - done) }, (_, k) => ({
          name: 'deliver',
          data: { body: bodies[(stocked + done + k) % bodies.length]! },
          opts: JOB_OPTIONS,
        }));
        await queue.addBulk(jobs);
      }
      stocked += n;
    };
    let worker: CountingChild | undefined;
    try {
      await add(CALIBRATION);
      const args: BullmqWorkerArgs = {
        ...connection,
        queue: QUEUE,
        url: receiver.url,
        concurrency: ctx.concurrency,
        jobs: CALIBRATION,
      };
      worker = await forkCountingChild(WORKER, args);
      const w0 = worker;
      const rate = await calibrate(() => w0.sample(), CALIBRATION, 60_000);
      // The calibration jobs are gone (removeOnComplete): the backlog still needed comes on top.
      const total =
        CALIBRATION + backlogSize(rate, ctx, { margin: 2, min: CALIBRATION, max: CAP - CALIBRATION });
      ctx.progress(`calibrated ${Math.round(rate)} jobs/s; queueing ${total - CALIBRATION} more jobs`);
      await worker.send({ cmd: 'pause' });
      await add(total - CALIBRATION);
      await worker.send({ cmd: 'target', count: total });
      await worker.send({ cmd: 'resume' });
      const w = await measureWindow(
        ctx,
        [
          { name: 'bullmq-worker', pid: worker.pid },
          { name: 'redis-server', pid: redis.pid },
          { name: 'receiver', pid: receiver.pid },
        ],
        () => worker!.sample(),
      );
      return figures(this.name, 'deliveries', w.count, w.seconds, w.processes, {
        lagGrowing: false,
        notes: [`queue of ${total} jobs, worker concurrency ${ctx.concurrency}`, ...w.notes],
      });
    } finally {
      await worker?.stop();
      await queue.close();
    }
  },
};
