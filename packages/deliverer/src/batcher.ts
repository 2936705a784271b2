/**
 * Collects items into batches for one dispatch each. A batch goes out as soon as it holds `maxItems`,
 * or when the scheduled deadline for its first item fires — whichever comes first — so that a trickle
 * is not held back waiting for a full batch and a burst is not cut into many small ones.
 */

/** Options of {@link Batcher}. */
export interface BatcherOptions {
  /** Most items in one batch; a batch that reaches it is dispatched at once. Integer ≥ 1. */
  readonly maxItems: number;
  /**
   * Longest a partial batch waits for more items, ms. `0` means the next turn of the event loop
   * (`setImmediate`): everything a burst of synchronous or microtask-chained adds produced goes together.
   */
  readonly waitMs: number;
}

/** Runs `fn` after `waitMs` (0: on the next event-loop turn) and returns a function that cancels it. */
export type Scheduler = (fn: () => void, waitMs: number) => () => void;

/** The timer-based scheduler: `setImmediate` for 0, `setTimeout` otherwise. */
export const timerScheduler: Scheduler = (fn, waitMs) => {
  if (waitMs === 0) {
    const h = setImmediate(fn);
    return () => clearImmediate(h);
  }
  const h = setTimeout(fn, waitMs);
  return () => clearTimeout(h);
};

/**
 * A batcher. Holds at most `maxItems - 1` items between calls: the caller bounds how many items are
 * outstanding overall (the deliverer's concurrency slots), the batcher only groups them.
 */
export class Batcher<T> {
  readonly #o: BatcherOptions;
  readonly #dispatch: (items: T[]) => void;
  readonly #schedule: Scheduler;
  #items: T[] = [];
  #cancel: (() => void) | undefined;

  /**
   * @param dispatch receives each batch, never empty, items in the order they were added.
   * @param schedule injectable for tests; the default uses Node's timers.
   */
  constructor(options: BatcherOptions, dispatch: (items: T[]) => void, schedule: Scheduler = timerScheduler) {
    if (!Number.isInteger(options.maxItems) || options.maxItems < 1)
      throw new RangeError('maxItems must be an integer ≥ 1');
    this.#o = options;
    this.#dispatch = dispatch;
    this.#schedule = schedule;
  }

  /** Items waiting for their batch to be dispatched. */
  get pending(): number {
    return this.#items.length;
  }

  /** Adds one item; dispatches its batch now if it is full, else makes sure a deadline is set. */
  add(item: T): void {
    this.#items.push(item);
    if (this.#items.length >= this.#o.maxItems) this.flush();
    else
      this.#cancel ??= this.#schedule(() => {
        this.#cancel = undefined;
        this.flush();
      }, this.#o.waitMs);
  }

  /** Dispatches whatever is pending now (nothing if empty) and clears the deadline. */
  flush(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    if (this.#items.length === 0) return;
    const batch = this.#items;
    this.#items = [];
    this.#dispatch(batch);
  }
}
