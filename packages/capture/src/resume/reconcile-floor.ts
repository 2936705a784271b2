import type { PubAck } from '@sluice/core';
import type { BinlogPosition, OpenTransaction } from '../transactions/transaction-tracker.js';

/**
 * Ids of this source's events found in the events stream after the checkpoint, with the stream
 * sequence of their first copy, in stream order. Filled by the reconcile scan, consumed as the replay
 * reaches each event (docs/decisions/0009-exact-resume.md).
 */
export class StoredEvents {
  readonly #seqById = new Map<string, number>();
  /** Ids in the order added (stream order), and how many at the front are known to be taken. */
  readonly #order: string[] = [];
  #cursor = 0;

  /** Records a stored copy of `id`; the first (lowest) sequence of an id wins. Add in stream order. */
  add(id: string, seq: number): void {
    if (this.#seqById.has(id)) return;
    this.#seqById.set(id, seq);
    this.#order.push(id);
  }

  /** Removes `id` and returns the sequence of its stored copy, or `undefined` when it is not stored. */
  take(id: string): number | undefined {
    const seq = this.#seqById.get(id);
    if (seq !== undefined) this.#seqById.delete(id);
    return seq;
  }

  /** Lowest sequence among the ids not taken yet. */
  get lowestSeq(): number | undefined {
    // Added in stream order, so the first id not taken has the lowest sequence. The replay takes ids
    // roughly in that order too, so the cursor moves on in amortised constant time.
    const order = this.#order;
    while (this.#cursor < order.length && !this.#seqById.has(order[this.#cursor]!)) this.#cursor++;
    return this.#cursor < order.length ? this.#seqById.get(order[this.#cursor]!) : undefined;
  }

  /** Ids not taken yet. */
  get size(): number {
    return this.#seqById.size;
  }
}

interface TxSeqs {
  readonly tx: OpenTransaction;
  /** Highest sequence of a copy of any of its rows (PubAck or found by the scan). */
  max: number;
  /** Lowest sequence of a copy stored before this session (a duplicate PubAck or found by the scan). */
  minOld: number;
}

/**
 * Computes, for each safe position of one session, the stream sequence to store with it as the
 * checkpoint's `streamSeq`: a sequence that every stored copy of every later event of the source lies
 * above, so that the next reconcile scan can start right after it.
 *
 * Why the highest sequence of the rows up to the position will do: one connection publishes in binlog
 * order and the stream stores in arrival order, so a row published later for the first time lands
 * higher; a duplicate PubAck names an older copy, which is lower still. Copies stored before this
 * session are the exception: a later event may have one below that (a duplicate PubAck, or found by
 * the scan), so those cap the result while they are still ahead of the position.
 */
export class StreamFloor {
  #stored: StoredEvents;
  readonly #txs: TxSeqs[] = [];
  readonly #byTx = new WeakMap<OpenTransaction, TxSeqs>();
  #base: number | undefined;
  #skipped = 0;
  /** Transactions in #txs with a copy stored before this session (finite minOld): usually none. */
  #older = 0;

  /**
   * @param inherited - the loaded checkpoint's `streamSeq`, or for a session without a checkpoint the
   *   stream's last sequence before it publishes anything.
   * @param stored - what the reconcile scan found.
   */
  constructor(inherited?: number, stored: StoredEvents = new StoredEvents()) {
    this.#base = inherited;
    this.#stored = stored;
  }

  /** Sets what the reconcile scan found, before the first row is handled (same meaning as the constructor's). */
  load(inherited: number | undefined, stored: StoredEvents): void {
    this.#base = inherited;
    this.#stored = stored;
  }

  /** Rows not published because the stream already held them. */
  get skipped(): number {
    return this.#skipped;
  }

  /**
   * True when the stream already holds the row `id` of `tx`: do not publish it again, and count it as
   * acknowledged (it has no PubAck to wait for).
   */
  alreadyStored(tx: OpenTransaction, id: string): boolean {
    const seq = this.#stored.take(id);
    if (seq === undefined) return false;
    this.#skipped++;
    this.#sawOlder(this.#entry(tx), seq);
    return true;
  }

  /** Records that a row of `tx` is about to be published; call before its PubAck can arrive. */
  published(tx: OpenTransaction): void {
    this.#entry(tx);
  }

  /** Records the PubAck of a row of `tx`. */
  acked(tx: OpenTransaction, ack: PubAck): void {
    const t = this.#entry(tx);
    if (ack.duplicate) this.#sawOlder(t, ack.seq);
    else t.max = Math.max(t.max, ack.seq);
  }

  #sawOlder(t: TxSeqs, seq: number): void {
    if (t.minOld === Number.POSITIVE_INFINITY) this.#older++;
    t.minOld = Math.min(t.minOld, seq);
    t.max = Math.max(t.max, seq);
  }

  /**
   * The `streamSeq` for checkpoint position `pos`, or `undefined` when nothing is known. Call for
   * each safe position in order: transactions up to `pos` are forgotten.
   */
  at(pos: BinlogPosition): number | undefined {
    while (this.#txs.length > 0) {
      const head = this.#txs[0]!;
      if (head.tx.end === undefined || comparePositions(head.tx.end, pos) > 0) break;
      this.#txs.shift();
      if (head.minOld !== Number.POSITIVE_INFINITY) this.#older--;
      if (head.max > 0) this.#base = Math.max(this.#base ?? 0, head.max);
    }
    if (this.#base === undefined) return undefined;
    let floor = this.#base;
    if (this.#older > 0) for (const t of this.#txs) floor = Math.min(floor, t.minOld - 1);
    const lowest = this.#stored.lowestSeq;
    if (lowest !== undefined) floor = Math.min(floor, lowest - 1);
    return Math.max(0, floor);
  }

  #entry(tx: OpenTransaction): TxSeqs {
    let t = this.#byTx.get(tx);
    if (t === undefined) {
      t = { tx, max: 0, minOld: Number.POSITIVE_INFINITY };
      this.#byTx.set(tx, t);
      this.#txs.push(t);
    }
    return t;
  }
}

/**
 * Orders two positions of one server's binlog: by the file's numeric suffix (`bin.000010` after
 * `bin.000009`, and after `bin.999999`), then by offset.
 */
export function comparePositions(a: BinlogPosition, b: BinlogPosition): number {
  if (a.file !== b.file) return fileNumber(a.file) - fileNumber(b.file) || (a.file < b.file ? -1 : 1);
  return a.pos - b.pos;
}

function fileNumber(file: string): number {
  const m = /\.(\d+)$/.exec(file);
  return m === null ? 0 : Number(m[1]);
}
