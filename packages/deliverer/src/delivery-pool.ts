import assert from 'node:assert';
import { Piscina } from 'piscina';
import { Batcher } from './batcher.js';
import type { DeliveryRequest, DeliverySender, DeliveryTarget, SenderOptions } from './delivery-sender.js';
import type { HttpResult } from './http-dispatch.js';
import { packTask, type PoolTask, type WorkerSettings } from './pool-task.js';

/** Options of {@link DeliveryPool}. */
export interface DeliveryPoolOptions extends SenderOptions {
  /** Worker threads. Integer ≥ 1. */
  readonly threads: number;
  /** Most deliveries per task; a task holds deliveries of one endpoint only. */
  readonly batch: number;
  /** Longest a partial batch waits for more deliveries, ms; 0 = the next event-loop turn. */
  readonly batchWaitMs: number;
  /**
   * Most deliveries in flight at once (the deliverer's concurrency). Bounds the tasks a worker may
   * run concurrently: every task holds at least one delivery.
   */
  readonly maxInFlight: number;
  /** Called with the size of every batch dispatched (telemetry). */
  readonly onBatch?: (deliveries: number) => void;
}

interface Pending {
  readonly request: DeliveryRequest;
  readonly resolve: (r: HttpResult) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Sends deliveries through a Piscina pool of delivery workers, many per task: a thread hop costs about
 * as much as one POST, so one hop per delivery would double the CPU per delivery. Deliveries are
 * batched by a {@link Batcher}; each task's results come back as plain data and are handed to the
 * callers of {@link send}, who map them to outcomes on the main thread.
 * See docs/decisions/0006-delivery-worker-pool.md.
 */
export class DeliveryPool implements DeliverySender {
  readonly #piscina: Piscina<PoolTask, HttpResult[]>;
  readonly #options: DeliveryPoolOptions;
  // One batcher per endpoint: a task settles when its slowest POST does, so a batch that mixed a slow
  // endpoint with fast ones would hold the fast ones' acks and concurrency slots for the slow one's
  // whole timeout (I6 in docs/architecture.md). Endpoints are few and configured, so the map stays
  // small.
  readonly #batchers = new Map<DeliveryTarget, Batcher<Pending>>();
  readonly #onBatch: ((deliveries: number) => void) | undefined;

  constructor(options: DeliveryPoolOptions) {
    const workerData: WorkerSettings = {
      connectionsPerOrigin: options.connectionsPerOrigin,
      excerptBytes: options.excerptBytes,
      dnsServers: options.dnsServers,
    };
    this.#piscina = new Piscina({
      filename: workerUrl().href,
      minThreads: options.threads,
      maxThreads: options.threads,
      // Tasks wait on HTTP, not on CPU: a worker must run many at once, or one slow endpoint in a batch
      // would hold every batch queued behind it. In-flight deliveries are bounded by the caller.
      concurrentTasksPerWorker: Math.max(1, options.maxInFlight),
      // Idle threads stay: their keep-alive connections are the point.
      idleTimeout: Number.POSITIVE_INFINITY,
      // Piscina's default parks an idle worker in a blocking Atomics.wait, which stops its event loop:
      // undici could then not see an endpoint close an idle keep-alive socket, or expire it on time,
      // and the next batch would be sent on dead connections (spurious network-error retries).
      atomics: 'disabled',
      workerData,
    });
    this.#onBatch = options.onBatch;
    this.#options = options;
  }

  /**
   * Runs an empty task on every thread: a worker loads its modules on its first task (~300 ms), and
   * a first delivery would otherwise wait for that — after its rate-limit token was taken.
   */
  async ready(): Promise<void> {
    const empty = packTask([]);
    await Promise.all(Array.from({ length: this.#options.threads }, () => this.#piscina.run(empty)));
  }

  send(request: DeliveryRequest): Promise<HttpResult> {
    const batcher = this.#batchers.get(request.target) ?? this.#newBatcher(request.target);
    return new Promise((resolve, reject) => batcher.add({ request, resolve, reject }));
  }

  /** Dispatches what is still batched, waits for running tasks, and ends the threads. */
  async close(): Promise<void> {
    for (const b of this.#batchers.values()) b.flush();
    await this.#piscina.close();
  }

  #newBatcher(target: DeliveryTarget): Batcher<Pending> {
    const { batch, batchWaitMs } = this.#options;
    const batcher = new Batcher<Pending>({ maxItems: batch, waitMs: batchWaitMs }, (items) =>
      this.#run(items),
    );
    this.#batchers.set(target, batcher);
    return batcher;
  }

  #run(items: Pending[]): void {
    const task = packTask(items.map((p) => p.request));
    this.#onBatch?.(items.length);
    this.#piscina.run(task, { transferList: [task.bodies] }).then(
      (results) => {
        assert.equal(results.length, items.length, 'a delivery worker returned a result per delivery');
        items.forEach((p, i) => p.resolve(results[i]!));
      },
      // A worker bug or a crashed thread: every delivery of the task is left to the caller's fallback.
      (err: unknown) => items.forEach((p) => p.reject(err)),
    );
  }
}

/**
 * The compiled worker next to this module. Under vitest this module runs from `src/*.ts`, and a worker
 * thread cannot load TypeScript, so the built file in `dist/` is used (integration tests run after a build).
 */
function workerUrl(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('../dist/delivery-worker.js', import.meta.url)
    : new URL('./delivery-worker.js', import.meta.url);
}
