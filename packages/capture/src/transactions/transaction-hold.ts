import type { CdcEventInput } from '@sluice/core';
import type { OpenTransaction } from './transaction-tracker.js';

/** An event kept back by {@link LastEventHold}, ready to be built and published. */
export interface HeldEvent {
  readonly tx: OpenTransaction;
  /** The event's inputs; `transactionCount` is set when it is its transaction's last event. */
  readonly input: CdcEventInput;
}

/**
 * Keeps back the newest captured event of the open transaction, so that the last one can be marked
 * (`sluicetxlast`, `sluicetxcount`) once the commit event says it was the last — without buffering
 * the transaction: at most one event is held at any time (docs/decisions/0010-transaction-metadata.md).
 *
 * The caller counts the held event as an outstanding publish of its transaction in the
 * {@link TransactionTracker} when it hands it over, so no checkpoint passes an event still held.
 */
export class LastEventHold {
  #held: HeldEvent | undefined;
  #countTx: OpenTransaction | undefined;
  #count = 0;

  /**
   * Counts one captured event of `tx`, whether it will be published or was found already stored:
   * `sluicetxcount` is the number of the transaction's events in the stream, whatever a resume skipped.
   */
  count(tx: OpenTransaction): void {
    if (this.#countTx !== tx) {
      this.#countTx = tx;
      this.#count = 0;
    }
    this.#count++;
  }

  /**
   * Holds `input`, the newest event of `tx`, and returns the event held before it, which is not the
   * last of its transaction and is to be published now.
   */
  next(tx: OpenTransaction, input: CdcEventInput): HeldEvent | undefined {
    const previous = this.#held;
    this.#held = { tx, input };
    return previous;
  }

  /**
   * Releases the held event once a commit event has been read: marked as the last of its transaction
   * when that transaction is the one that committed (its end is known), unmarked when it belongs to an
   * earlier group whose end was never recognised (TransactionBoundaries logs those).
   */
  release(): HeldEvent | undefined {
    const held = this.#held;
    if (held === undefined) return undefined;
    this.#held = undefined;
    if (held.tx.end === undefined || this.#countTx !== held.tx) return held;
    return { tx: held.tx, input: { ...held.input, transactionCount: this.#count } };
  }

  /** True while an event is held. */
  get holding(): boolean {
    return this.#held !== undefined;
  }
}
