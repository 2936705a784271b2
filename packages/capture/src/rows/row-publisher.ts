import type { RowsEvent } from '@vlasky/zongji';
import { cdcEvent, cdcEventId, eventAddress, type NatsConfig, type RowOperation } from '@sluice/core';
import type { EventSender } from '../publish/event-sender.js';
import { rowChange, type RawRow, type TableShape } from './row-change.js';
import type { StreamFloor } from '../resume/reconcile-floor.js';
import type { TableFilter } from '../tables/schema-filter.js';
import { LastEventHold, type HeldEvent } from '../transactions/transaction-hold.js';
import type { OpenTransaction, TransactionTracker } from '../transactions/transaction-tracker.js';

/** Options of {@link RowPublisher}. */
export interface RowPublisherOptions {
  /** Publishes through the ack window; offloads events over max_payload (decision 0012). */
  readonly sender: EventSender;
  readonly tracker: TransactionTracker;
  readonly nats: NatsConfig;
  readonly sourceId: string;
  readonly filter: TableFilter;
  /**
   * What the reconcile scan found already stored: those rows are not published again
   * (docs/decisions/0009-exact-resume.md). @default publish every row
   */
  readonly resume?: StreamFloor;
}

const OPS: Record<string, RowOperation> = { writerows: 'insert', updaterows: 'update', deleterows: 'delete' };

/**
 * Turns the rows of one rows event into CDC events and hands them to the ack-window publisher without
 * awaiting: one awaited publish per event caps the client near 17k/s
 * (docs/decisions/0005-publish-window-and-delivery-seams.md). The newest event of the open
 * transaction is held back until the next one or the commit, which marks it as the last
 * (docs/decisions/0010-transaction-metadata.md).
 */
export class RowPublisher {
  readonly #o: RowPublisherOptions;
  readonly #hold = new LastEventHold();

  constructor(o: RowPublisherOptions) {
    this.#o = o;
  }

  /**
   * Publishes every captured row of `ev` as part of `tx` (the newest one is held until
   * {@link transactionEnded} or the next row). Rows of uncaptured tables still consume a row index, so
   * ids do not depend on the include/exclude configuration.
   * @returns true when at least one row was published or held.
   */
  publishRows(
    ev: RowsEvent & { rows: unknown[] },
    shape: TableShape,
    tx: OpenTransaction,
    file: string,
    onAck: (tx: OpenTransaction) => void,
    onNack: (err: unknown) => void,
  ): boolean {
    const op = OPS[ev.getEventName()]!;
    const captured = this.#o.filter(shape.database, shape.table);
    const position = ev.nextPosition > 0 ? `${file}:${ev.nextPosition}` : tx.id;
    let sent = false;
    for (const row of ev.rows) {
      const rowIndex = tx.nextRowIndex++;
      if (!captured) continue;
      const [before, after] = images(op, row);
      const { change, key } = rowChange(shape, op, before, after);
      const id = cdcEventId({ sourceId: this.#o.sourceId, transaction: tx.id, rowIndex });
      this.#hold.count(tx); // stored before or not, it is one of the transaction's events
      if (this.#o.resume?.alreadyStored(tx, id) === true) continue;
      const input = {
        id,
        sourceId: this.#o.sourceId,
        change,
        commitTimeMs: ev.timestamp,
        position,
        transaction: tx.id,
        rowIndex,
        key,
      };
      // Outstanding from now on, held or sent: no checkpoint passes a held event.
      this.#o.tracker.published(tx);
      const previous = this.#hold.next(tx, input);
      if (previous !== undefined) this.#send(previous, onAck, onNack);
      sent = true;
    }
    return sent;
  }

  /**
   * Call after each commit event: publishes the held event, marked as its transaction's last one.
   * @returns true when an event was published.
   */
  transactionEnded(onAck: (tx: OpenTransaction) => void, onNack: (err: unknown) => void): boolean {
    const last = this.#hold.release();
    if (last !== undefined) this.#send(last, onAck, onNack);
    return last !== undefined;
  }

  #send(
    { tx, input }: HeldEvent,
    onAck: (tx: OpenTransaction) => void,
    onNack: (err: unknown) => void,
  ): void {
    const event = cdcEvent(input);
    const address = eventAddress(this.#o.nats, event, input.key, this.#o.sourceId);
    const resume = this.#o.resume;
    resume?.published(tx);
    this.#o.sender.send(address, event).then((ack) => {
      resume?.acked(tx, ack);
      onAck(tx);
    }, onNack);
  }
}

function images(op: RowOperation, row: unknown): [RawRow | null, RawRow | null] {
  switch (op) {
    case 'insert':
    case 'read': // never from the binlog: backfill publishes reads (backfill/backfill.ts)
      return [null, row as RawRow];
    case 'delete':
      return [row as RawRow, null];
    case 'update': {
      const u = row as { before: RawRow; after: RawRow };
      return [u.before, u.after];
    }
  }
}
