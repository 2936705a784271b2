/**
 * Tracks which binlog position is safe to checkpoint: the end of the newest transaction such that it
 * and every earlier transaction are committed (commit event seen) and fully acknowledged by JetStream.
 * Pure bookkeeping; the capturer feeds it and decides when to write. See
 * docs/decisions/0003-capture-checkpoints.md.
 */

/** A position in the source's binlog at a transaction boundary. */
export interface BinlogPosition {
  /** Binlog file name, e.g. `bin.000003`. */
  readonly file: string;
  /** Byte offset just after the transaction's commit event. */
  readonly pos: number;
  /** MariaDB GTID position (`0-1-42,1-3-7`) or MySQL GTID set including this transaction, when known. */
  readonly gtid?: string;
}

/** One transaction in flight. Created by {@link TransactionTracker.begin}. */
export interface OpenTransaction {
  /** GTID, or `file:pos` where the transaction's first event ends. Part of every event id. */
  readonly id: string;
  /** Next 0-based row index; counts every decoded row of every table. */
  nextRowIndex: number;
  /** Publishes awaiting their PubAck. */
  pending: number;
  /** Set by {@link TransactionTracker.commit}. */
  end: BinlogPosition | undefined;
}

/** Orders transactions and reports the newest fully acknowledged boundary. */
export class TransactionTracker {
  readonly #open: OpenTransaction[] = [];
  #safe: BinlogPosition | undefined;
  #committed = 0;

  /** Starts tracking a transaction; transactions must begin in binlog order. */
  begin(id: string): OpenTransaction {
    const tx: OpenTransaction = { id, nextRowIndex: 0, pending: 0, end: undefined };
    this.#open.push(tx);
    return tx;
  }

  /** Records that one row of `tx` was published and awaits its PubAck. */
  published(tx: OpenTransaction): void {
    tx.pending++;
  }

  /** Records a PubAck for one row of `tx`. */
  acked(tx: OpenTransaction): void {
    tx.pending--;
    this.#advance();
  }

  /** Records `tx`'s commit event; `end` is the position right after it. */
  commit(tx: OpenTransaction, end: BinlogPosition): void {
    tx.end = end;
    this.#committed++;
    this.#advance();
  }

  /** The newest position safe to checkpoint, or `undefined` while nothing has completed yet. */
  get safe(): BinlogPosition | undefined {
    return this.#safe;
  }

  /** Transactions whose commit event was seen. */
  get committed(): number {
    return this.#committed;
  }

  /** Transactions begun but not yet safe (open, or waiting for acks). */
  get inFlight(): number {
    return this.#open.length;
  }

  #advance(): void {
    // Only a prefix can complete: a later transaction finishing first must wait for the earlier one,
    // or a crash would resume past rows that never reached the stream.
    while (this.#open.length > 0) {
      const head = this.#open[0]!;
      if (head.end === undefined || head.pending > 0) return;
      this.#safe = head.end;
      this.#open.shift();
    }
  }
}
