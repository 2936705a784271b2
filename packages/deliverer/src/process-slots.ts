/**
 * The deliverer process's request budget (`deliverer.concurrency`), shared by its endpoints. Every
 * endpoint is guaranteed a fair share of it (`limit / endpoints`), whatever the others hold: without
 * that, one slow endpoint would take every slot and starve the fast ones (I6 in docs/architecture.md).
 * Beyond its share an endpoint may use whatever is free. The budget is therefore soft — at most twice
 * `limit` in flight — and the hard limit per endpoint is its consumer's `max_ack_pending` (decision
 * 0007).
 */
export class ProcessSlots {
  readonly limit: number;
  /** Slots each endpoint may always use. */
  readonly share: number;
  #used = 0;
  #waiters: (() => void)[] = [];

  constructor(limit: number, endpoints: number) {
    this.limit = limit;
    this.share = Math.max(1, Math.floor(limit / Math.max(1, endpoints)));
  }

  /** Slots an endpoint that has `held` in flight may take now. */
  freeFor(held: number): number {
    return Math.max(this.free, this.share - held);
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
