import ZongJi, { MariadbGtidPosition, type AnyBinlogEvent, type MariadbGtidEvent, type QueryEvent, type RowsEvent, type TableMapEvent } from '@vlasky/zongji';
import type { NatsConnection } from '@nats-io/transport-node';
import { AckWindowPublisher, type CaptureConfig, type Logger, type NatsConfig } from '@sluice/core';
import { mysqlOptions } from './mysql-url.js';
import { RowPublisher } from './row-publisher.js';
import { zongjiExcludeSchema, type TableFilter } from './schema-filter.js';
import { TableCatalog, type JsonColumnLookup } from './table-catalog.js';
import { TransactionTracker, type BinlogPosition, type OpenTransaction } from './transaction-tracker.js';

/** Where a session starts reading: exactly one of a GTID position, a file/pos, or the end. */
export type StartPoint = { readonly gtidSet: string } | { readonly filename: string; readonly position: number } | { readonly startAtEnd: true };

/** Options of {@link BinlogSession}. */
export interface BinlogSessionOptions {
  readonly url: string;
  readonly serverId: number;
  readonly sourceId: string;
  readonly start: StartPoint;
  readonly nats: NatsConfig;
  readonly capture: CaptureConfig;
  readonly nc: NatsConnection;
  readonly filter: TableFilter;
  readonly isMariaDb: boolean;
  readonly jsonLookup: JsonColumnLookup | undefined;
  readonly logger: Logger;
  /** Called whenever the newest fully acknowledged transaction boundary advances. */
  readonly onSafe: (pos: BinlogPosition) => void;
  /** Called once per PubAck'ed row. */
  readonly onRowAcked: () => void;
}

interface TxState extends OpenTransaction {
  readonly standalone: boolean;
  readonly mariadbGtid: MariadbGtidEvent | undefined;
}

/**
 * One connection's worth of binlog streaming: a zongji listener feeding rows to a bounded publish window
 * and transaction boundaries to a {@link TransactionTracker}. It never recovers by itself; on any failure
 * it reports once through {@link failed} and the owner discards it and starts a new session from the
 * last written checkpoint (zongji does not reconnect, and in-flight state cannot be trusted).
 */
export class BinlogSession {
  readonly #o: BinlogSessionOptions;
  readonly #zongji: ZongJi;
  readonly #publisher: AckWindowPublisher;
  readonly #rows: RowPublisher;
  readonly #tracker = new TransactionTracker();
  readonly #catalog: TableCatalog;
  readonly #pauses = new Set<string>();
  #file = '';
  #tx: TxState | undefined;
  #gtidPos: MariadbGtidPosition | undefined;
  #lastSafe: BinlogPosition | undefined;
  #stopped = false;
  #reportFailure!: (err: unknown) => void;
  #failure: unknown;
  /** Resolves with the first error of this session (it never rejects). */
  readonly failed: Promise<unknown>;

  constructor(o: BinlogSessionOptions) {
    this.#o = o;
    this.failed = new Promise((resolve) => (this.#reportFailure = resolve));
    this.#publisher = new AckWindowPublisher(o.nc, { window: o.capture.publishWindow, timeoutMs: o.capture.publishTimeoutMs });
    this.#rows = new RowPublisher({ publisher: this.#publisher, tracker: this.#tracker, nats: o.nats, sourceId: o.sourceId, filter: o.filter });
    this.#catalog = new TableCatalog(o.jsonLookup);
    this.#zongji = new ZongJi(mysqlOptions(o.url));
  }

  /** Publishes awaiting their PubAck. */
  get pendingAcks(): number {
    return this.#publisher.pending;
  }

  /** Transactions whose commit this session has seen. */
  get transactions(): number {
    return this.#tracker.committed;
  }

  /** Starts streaming; resolves once zongji is ready (the dump command is being sent). */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const z = this.#zongji;
      z.on('ready', () => {
        // zongji's executed-GTID seed (start position, or gtid_current_pos for startAtEnd) is
        // exact; our own copy then also covers DDL groups, which zongji folds only lazily.
        const seed = z.gtidSet;
        if (this.#o.isMariaDb && seed !== undefined) this.#gtidPos = MariadbGtidPosition.parse(seed);
        if ('filename' in this.#o.start) this.#file = this.#o.start.filename;
        resolve();
      });
      z.on('error', (err) => {
        reject(err);
        this.#fail(err);
      });
      z.on('binlog', (ev) => this.#onEvent(ev));
      z.start({ serverId: this.#o.serverId, excludeSchema: zongjiExcludeSchema(), ...this.#o.start });
    });
  }

  #onEvent(ev: AnyBinlogEvent): void {
    if (this.#stopped) return;
    try {
      this.#dispatch(ev);
    } catch (err) {
      // Thrown inside mysql2's packet parser it would surface as an unrelated protocol error.
      this.#fail(err);
    }
  }

  #dispatch(ev: AnyBinlogEvent): void {
    switch (ev.getEventName()) {
      case 'rotate':
        this.#file = (ev as Extract<AnyBinlogEvent, { binlogName: string; position: number }>).binlogName;
        return;
      case 'mariadbgtid': {
        const g = ev as MariadbGtidEvent;
        this.#begin(g.gtid, g.standalone, g, g.nextPosition);
        return;
      }
      case 'gtid':
      case 'anonymousgtid':
        this.#begin(ev.gtid, false, undefined, ev.nextPosition);
        return;
      case 'query':
        this.#onQuery(ev as QueryEvent);
        return;
      case 'xid':
      case 'xaprepare':
        this.#commit(ev.nextPosition);
        return;
      case 'tablemap':
        this.#onTableMap(ev as TableMapEvent);
        return;
      case 'writerows':
      case 'updaterows':
      case 'deleterows':
        this.#onRows(ev as RowsEvent & { rows: unknown[] });
        return;
      default:
        return;
    }
  }

  #begin(gtid: string | undefined, standalone: boolean, mariadbGtid: MariadbGtidEvent | undefined, nextPosition: number): void {
    // A new group while one is open means the old one ended without a marker we recognise; zongji makes
    // the same inference. Its end position is unknown, so it is left open and blocks the checkpoint
    // until the session ends: safe (replay), never skipping.
    const id = gtid ?? `${this.#file}:${nextPosition}`;
    const tx = this.#tracker.begin(id) as TxState;
    Object.assign(tx, { standalone, mariadbGtid });
    this.#tx = tx;
  }

  #onQuery(ev: QueryEvent): void {
    const q = ev.query.trim().toUpperCase();
    if (q === 'BEGIN' || q.startsWith('XA START')) {
      if (this.#tx === undefined) this.#begin(ev.gtid, false, undefined, ev.nextPosition);
      return;
    }
    const ends = q === 'COMMIT' || q === 'ROLLBACK' || q.startsWith('XA COMMIT') || q.startsWith('XA ROLLBACK');
    if (this.#tx === undefined) {
      // DDL outside any group (no GTIDs): a boundary of its own.
      this.#begin(ev.gtid, true, undefined, ev.nextPosition);
      this.#commit(ev.nextPosition);
    } else if (this.#tx.standalone || ends) this.#commit(ev.nextPosition);
  }

  #commit(nextPosition: number): void {
    const tx = this.#tx;
    if (tx === undefined) return;
    this.#tx = undefined;
    if (tx.mariadbGtid !== undefined && this.#gtidPos !== undefined) this.#gtidPos.add(tx.mariadbGtid);
    const gtid = this.#o.isMariaDb ? this.#gtidPos?.toString() : this.#zongji.gtidSet;
    this.#tracker.commit(tx, { file: this.#file, pos: nextPosition, ...(gtid !== undefined ? { gtid } : {}) });
    this.#offerSafe();
  }

  #onTableMap(ev: TableMapEvent): void {
    const lookup = this.#catalog.onTableMap(ev, this.#o.filter(ev.schemaName, ev.tableName));
    if (lookup === undefined) return;
    this.#pause('lookup');
    lookup.then(
      () => this.#resume('lookup'),
      (err: unknown) => this.#fail(err),
    );
  }

  #onRows(ev: RowsEvent & { rows: unknown[] }): void {
    const shape = this.#catalog.shape(ev.tableId);
    if (shape === undefined) return; // system schema: zongji filtered its TableMap
    const tx = this.#tx ?? this.#implicitTx(ev);
    const sent = this.#rows.publishRows(ev, shape, tx, this.#file, this.#onAck, this.#onNack);
    if (sent && this.#publisher.full) {
      this.#pause('window');
      void this.#publisher.room().then(() => this.#resume('window'));
    }
  }

  // Rows outside any group should not happen (sessions start at boundaries); counting them under their
  // own position keeps ids deterministic rather than crashing.
  #implicitTx(ev: RowsEvent): TxState {
    this.#o.logger.warn({ file: this.#file, pos: ev.nextPosition }, 'row event outside a transaction');
    this.#begin(ev.gtid, false, undefined, ev.nextPosition);
    return this.#tx!;
  }

  readonly #onAck = (tx: OpenTransaction): void => {
    this.#tracker.acked(tx);
    this.#o.onRowAcked();
    this.#offerSafe();
  };

  readonly #onNack = (err: unknown): void => this.#fail(err);

  #offerSafe(): void {
    const safe = this.#tracker.safe;
    if (safe !== undefined && safe !== this.#lastSafe) {
      this.#lastSafe = safe;
      this.#o.onSafe(safe);
    }
  }

  #pause(reason: string): void {
    if (this.#pauses.size === 0) this.#zongji.connection?.pause();
    this.#pauses.add(reason);
  }

  #resume(reason: string): void {
    if (!this.#pauses.delete(reason) || this.#pauses.size > 0 || this.#stopped) return;
    this.#zongji.connection?.resume();
  }

  #fail(err: unknown): void {
    if (this.#failure !== undefined || this.#stopped) return;
    this.#failure = err;
    this.#reportFailure(err);
  }

  /**
   * Stops reading, then waits for outstanding PubAcks (bounded by the publish timeout, after which the
   * publisher fails them all) so the owner can write a final checkpoint. Idempotent.
   */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      await stopZongji(this.#zongji);
    }
    await this.#publisher.drain();
    await this.#publisher.close();
  }

  /** Discards the session without waiting for acks: after a failure, nothing here is trusted. */
  async abort(): Promise<void> {
    this.#stopped = true;
    await this.#publisher.close();
    await stopZongji(this.#zongji);
  }
}

function stopZongji(z: ZongJi): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2_000);
    z.once('stopped', () => {
      clearTimeout(timer);
      resolve();
    });
    // A late socket error from the connection being torn down must not become an unhandled 'error'.
    z.on('error', () => undefined);
    z.stop();
  });
}
