// A delivery worker thread of the Piscina pool (see delivery-pool.ts): signs and POSTs every delivery
// of a task concurrently through this thread's own undici pools, and returns one plain HttpResult per
// delivery, in task order. See docs/decisions/0006-delivery-worker-pool.md.
import { workerData } from 'piscina';
import { HttpDispatcher, type HttpResult } from './http-dispatch.js';
import { postSigned } from './delivery-sender.js';
import { plainResult, unpackTask, type PoolTask, type WorkerSettings } from './pool-task.js';
import { KeyCache } from './signature.js';

const settings = workerData as WorkerSettings;
// One dispatcher per thread for the thread's lifetime: keep-alive connections are reused across tasks.
const http = new HttpDispatcher(settings.connectionsPerOrigin, { dnsServers: settings.dnsServers });
// Keys arrive as bytes with every task; their KeyObjects are made once per thread and reused.
const keyCache = new KeyCache();

/** Delivers one batch. Endpoint failures are results, never a rejection. */
export default async function deliverBatch(task: PoolTask): Promise<HttpResult[]> {
  const results = await Promise.all(
    unpackTask(task).map((r) => postSigned(http, r, settings.excerptBytes, keyCache)),
  );
  return results.map(plainResult);
}
