/**
 * The deliverer process's request budget (`deliverer.concurrency`), shared by its endpoints. It is a
 * target, not a hard cap: each endpoint sizes its next fetch from the free slots, and endpoints
 * fetching at the same moment may overshoot it by their fetch sizes. The hard limit per endpoint is
 * its consumer's `max_ack_pending` (decision 0007).
 */
export class ProcessSlots {
  readonly limit: number;
  #used = 0;
  #waiters: (() => void)[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  get free(): number {
    return Math.max(0, this.limit - this.#used);
  }

  take(): void {
    this.#used++;
  }

  release(): void {
    this.#used--;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves at the next release. */
  next(): Promise<void> {
    return new Promise((r) => this.#waiters.push(r));
  }

  /** Resolves when nothing is in flight. */
  async idle(): Promise<void> {
    while (this.#used > 0) await this.next();
  }
}
