import type { RowsEvent } from '@vlasky/zongji';
import {
  cdcEvent,
  cdcEventId,
  encodeEvent,
  eventSubject,
  partitionOf,
  type AckWindowPublisher,
  type NatsConfig,
  type RowOperation,
} from '@sluice/core';
import { rowChange, type RawRow, type TableShape } from './row-change.js';
import type { TableFilter } from './schema-filter.js';
import type { OpenTransaction, TransactionTracker } from './transaction-tracker.js';

/** Options of {@link RowPublisher}. */
export interface RowPublisherOptions {
  readonly publisher: AckWindowPublisher;
  readonly tracker: TransactionTracker;
  readonly nats: NatsConfig;
  readonly sourceId: string;
  readonly filter: TableFilter;
}

const OPS: Record<string, RowOperation> = { writerows: 'insert', updaterows: 'update', deleterows: 'delete' };

/**
 * Turns the rows of one rows event into CDC events and hands them to the ack-window publisher without
 * awaiting (design.md §7: one awaited publish per event caps the client near 17k/s).
 */
export class RowPublisher {
  readonly #o: RowPublisherOptions;

  constructor(o: RowPublisherOptions) {
    this.#o = o;
  }

  /**
   * Publishes every captured row of `ev` as part of `tx`. Rows of uncaptured tables still consume a row
   * index, so ids do not depend on the include/exclude configuration.
   * @returns true when at least one row was published.
   * @throws SluiceError `SLUICE_PUBLISH_TOO_LARGE` when an event exceeds the server's max_payload.
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
      const event = cdcEvent({
        id,
        sourceId: this.#o.sourceId,
        change,
        commitTimeMs: ev.timestamp,
        position,
        transaction: tx.id,
        rowIndex,
        key,
      });
      const subject = eventSubject(this.#o.nats, partitionOf(key, this.#o.nats.partitions), event.type);
      // publish() throws synchronously for an oversized event, before anything is counted as pending.
      const acked = this.#o.publisher.publish(subject, encodeEvent(event), id);
      this.#o.tracker.published(tx);
      acked.then(() => onAck(tx), onNack);
      sent = true;
    }
    return sent;
  }
}

function images(op: RowOperation, row: unknown): [RawRow | null, RawRow | null] {
  switch (op) {
    case 'insert':
      return [null, row as RawRow];
    case 'delete':
      return [row as RawRow, null];
    case 'update': {
      const u = row as { before: RawRow; after: RawRow };
      return [u.before, u.after];
    }
  }
}
