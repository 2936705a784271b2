import ZongJi, { type AnyBinlogEvent, type RowsEvent, type TableMapEvent } from '@vlasky/zongji';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckWindowPublisher,
  SluiceError,
  type CaptureConfig,
  type Logger,
  type NatsConfig,
} from '@sluice/core';
import { mysqlOptions } from './mysql-url.js';
import { RowPublisher } from './row-publisher.js';
import { zongjiExcludeSchema, type TableFilter } from './schema-filter.js';
import { TableCatalog, type JsonColumnLookup } from './table-catalog.js';
import type { StartPoint } from './checkpoint-store.js';
import { TransactionBoundaries } from './transaction-boundaries.js';
import { TransactionTracker, type BinlogPosition, type OpenTransaction } from './transaction-tracker.js';

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
  /**
   * False once this process may no longer publish for the source (its lease ran out): the session
   * then fails with `SLUICE_LEASE_LOST` before handling another binlog event. @default always true
   */
  readonly fence?: () => boolean;
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
  readonly #boundaries: TransactionBoundaries;
  #lastSafe: BinlogPosition | undefined;
  #stopped = false;
  #acked = 0;
  #reportFailure!: (err: unknown) => void;
  #failure: unknown;
  /** Resolves with the first error of this session (it never rejects). */
  readonly failed: Promise<unknown>;

  constructor(o: BinlogSessionOptions) {
    this.#o = o;
    this.failed = new Promise((resolve) => (this.#reportFailure = resolve));
    this.#publisher = new AckWindowPublisher(o.nc, {
      window: o.capture.publishWindow,
      timeoutMs: o.capture.publishTimeoutMs,
    });
    this.#rows = new RowPublisher({
      publisher: this.#publisher,
      tracker: this.#tracker,
      nats: o.nats,
      sourceId: o.sourceId,
      filter: o.filter,
    });
    this.#catalog = new TableCatalog(o.jsonLookup);
    this.#boundaries = new TransactionBoundaries(this.#tracker, {
      isMariaDb: o.isMariaDb,
      zongjiGtidSet: () => this.#zongji.gtidSet,
      logger: o.logger,
    });
    this.#zongji = new ZongJi(mysqlOptions(o.url));
  }

  /** Publishes awaiting their PubAck. */
  get pendingAcks(): number {
    return this.#publisher.pending;
  }

  /** True once JetStream acknowledged anything this session published, or a boundary became safe. */
  get progressed(): boolean {
    return this.#lastSafe !== undefined || this.#acked > 0;
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
        this.#boundaries.seed(z.gtidSet, 'filename' in this.#o.start ? this.#o.start.filename : undefined);
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
    if (this.#o.fence?.() === false) {
      this.#fail(new SluiceError('SLUICE_LEASE_LOST', 'the capture lease ran out: not publishing'));
      return;
    }
    try {
      this.#dispatch(ev);
    } catch (err) {
      // Thrown inside mysql2's packet parser it would surface as an unrelated protocol error.
      this.#fail(err);
    }
  }

  #dispatch(ev: AnyBinlogEvent): void {
    switch (ev.getEventName()) {
      case 'tablemap':
        this.#onTableMap(ev as TableMapEvent);
        return;
      case 'writerows':
      case 'updaterows':
      case 'deleterows':
        this.#onRows(ev as RowsEvent & { rows: unknown[] });
        return;
      // Compressed transactions and partial JSON updates cannot be decoded; zongji reports them as an
      // 'error' (fatal here), so they never pass silently. The rest carry nothing for CDC.
      case 'rotate':
      case 'mariadbgtid':
      case 'gtid':
      case 'anonymousgtid':
      case 'query':
      case 'xid':
      case 'xaprepare':
        if (this.#boundaries.apply(ev)) this.#offerSafe();
        return;
      case 'transactionpayload':
      case 'partialupdaterows':
      case 'annotaterows':
      case 'binlogcheckpoint':
      case 'format':
      case 'heartbeat':
      case 'intvar':
      case 'mariadbgtidlist':
      case 'previousgtids':
      case 'rowsquery':
      case 'startencryption':
      case 'unknown':
        return;
    }
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
    const tx = this.#boundaries.current(ev);
    const sent = this.#rows.publishRows(ev, shape, tx, this.#boundaries.file, this.#onAck, this.#onNack);
    if (sent && this.#publisher.full) {
      this.#pause('window');
      void this.#publisher.room().then(() => this.#resume('window'));
    }
  }

  readonly #onAck = (tx: OpenTransaction): void => {
    this.#tracker.acked(tx);
    this.#acked++;
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
