import { Pool } from 'undici';
import { ProcessMeter } from '../meter.js';
import { postBody1k } from '../payloads.js';
import { figures, type Phase } from '../phase.js';

/**
 * The HTTP limit: `concurrency` loops of undici `Pool.request` POSTing a ~1 KB body to the receiver
 * process, keep-alive. What the deliverer is compared with.
 */
export const rawHttp: Phase = {
  name: 'raw-http',
  title: 'undici Pool.request POST loop → receiver (the HTTP limit)',
  kind: 'reference',
  async run(ctx) {
    const receiver = await ctx.infra.receiver();
    const url = new URL(receiver.url);
    const pool = new Pool(url.origin, { connections: ctx.concurrency });
    const body = postBody1k(1);
    const headers = { 'content-type': 'application/cloudevents+json' };
    let count = 0;
    let running = true;
    const worker = async (): Promise<void> => {
      while (running) {
        const res = await pool.request({ method: 'POST', path: url.pathname, headers, body });
        await res.body.dump();
        count++;
      }
    };
    const workers = Array.from({ length: ctx.concurrency }, worker);
    await new Promise((r) => setTimeout(r, ctx.warmupMs));
    const meter = new ProcessMeter([
      { name: 'bench-client', pid: process.pid },
      { name: 'receiver', pid: receiver.pid },
    ]);
    const c0 = count;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, ctx.durationMs));
    const n = count - c0;
    const seconds = (performance.now() - t0) / 1000;
    const processes = meter.stop();
    running = false;
    await Promise.all(workers);
    await pool.close();
    return figures(this.name, 'requests', n, seconds, processes);
  },
};
