import ZongJi, {
  type AnyBinlogEvent,
  type QueryEvent,
  type RowsEvent,
  type TableMapEvent,
} from '@vlasky/zongji';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckWindowPublisher,
  SluiceError,
  type CaptureConfig,
  type Logger,
  type NatsConfig,
} from '@sluice/core';
import { DdlPublisher, type DdlOutcome } from '../ddl/ddl-event.js';
import { rawMysqlJson } from '../mysql/mysql-json.js';
import { unsupportedEvent, withUnsupportedCode } from './unsupported-events.js';
import { EventSender } from '../publish/event-sender.js';
import { mysqlOptions } from '../mysql/mysql-url.js';
import { OversizeStore } from '../publish/oversize.js';
import type { StreamFloor } from '../resume/reconcile-floor.js';
import { RowPublisher } from '../rows/row-publisher.js';
import { zongjiExcludeSchema, type TableFilter } from '../tables/schema-filter.js';
import { TableCatalog, type JsonColumnLookup } from '../tables/table-catalog.js';
import type { StartPoint } from '../resume/checkpoint-store.js';
import type { RotationLog } from '../retention/retention.js';
import { TransactionBoundaries } from '../transactions/transaction-boundaries.js';
import {
  TransactionTracker,
  type BinlogPosition,
  type OpenTransaction,
} from '../transactions/transaction-tracker.js';
import { binlogEventChannel, describeBinlogEvent } from './binlog-event-channel.js';

/** Where a session's binlog stream starts, as zongji reports it once ready. */
export interface StreamStart {
  /** The GTID position (MySQL: GTID set) zongji was seeded with; absent when it has none. */
  readonly gtid?: string;
  /** The binlog file and offset it reads from; absent for a start by GTID. */
  readonly file?: string;
  readonly pos?: number;
}

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
  /** Called for each DDL statement read, with what became of it (`published` on its PubAck). */
  readonly onDdl?: (outcome: DdlOutcome) => void;
  /** Called once per event published as a reference to the oversize object store (decision 0012). */
  readonly onOversize?: () => void;
  /** Records when each binlog file was closed, for the retention guard. */
  readonly rotations?: RotationLog;
  /**
   * False once this process may no longer publish for the source (its lease ran out): the session
   * then fails with `SLUICE_LEASE_LOST` before handling another binlog event. @default always true
   */
  readonly fence?: () => boolean;
  /**
   * True while the checkpoint could not be kept fresh (CheckpointWriter.stale): the session then fails
   * with `SLUICE_CHECKPOINT_STALE` before handling another binlog event. @default never
   */
  readonly checkpointStale?: () => boolean;
  /** What the reconcile scan found stored; those rows are not published again (decision 0009). */
  readonly resume?: StreamFloor;
  /**
   * Work to finish after zongji is ready and before the first binlog event is handled (the reconcile
   * scan, the first checkpoint write), given where the stream starts; the binlog connection stays
   * paused meanwhile, and a rejection fails the session.
   */
  readonly beforeFirstEvent?: (start: StreamStart) => Promise<void>;
}

/**
 * One connection's worth of binlog streaming: a zongji listener feeding rows to a bounded publish window
 * and transaction boundaries to a {@link TransactionTracker}. It never recovers by itself; on any failure
 * it reports once through {@link failed} and the owner discards it and starts a new session from the
 * last written checkpoint (zongji does not reconnect, and in-flight state cannot be trusted).
 * Just over 400 lines: it is the one adapter between zongji's event callbacks and sluice's publishers;
 * what each event means lives in rows/, ddl/, transactions/ and tables/.
 */
export class BinlogSession {
  readonly #o: BinlogSessionOptions;
  readonly #zongji: ZongJi;
  readonly #publisher: AckWindowPublisher;
  readonly #rows: RowPublisher;
  readonly #sender: EventSender;
  readonly #ddl: DdlPublisher;
  readonly #tracker = new TransactionTracker();
  readonly #catalog: TableCatalog;
  readonly #pauses = new Set<string>();
  readonly #boundaries: TransactionBoundaries;
  #lastSafe: BinlogPosition | undefined;
  #preparing = false;
  /** Events that arrived before beforeFirstEvent finished: at most one, as it pauses the connection. */
  readonly #early: AnyBinlogEvent[] = [];
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
    this.#sender = new EventSender({
      publisher: this.#publisher,
      oversize: new OversizeStore(o.nc, o.nats),
      maxPayload: o.nc.info?.max_payload ?? 1024 * 1024,
      stall: (until) => {
        this.#pause('oversize');
        void until.then(() => this.#resume('oversize'));
      },
      logger: o.logger,
      ...(o.onOversize !== undefined ? { onOversize: o.onOversize } : {}),
    });
    this.#rows = new RowPublisher({
      sender: this.#sender,
      tracker: this.#tracker,
      nats: o.nats,
      sourceId: o.sourceId,
      filter: o.filter,
      resume: o.resume,
    });
    this.#catalog = new TableCatalog(o.jsonLookup, o.logger);
    this.#ddl = new DdlPublisher({
      send: (address, event) => this.#sender.send(address, event),
      tracker: this.#tracker,
      nats: o.nats,
      sourceId: o.sourceId,
      filter: o.filter,
      logger: o.logger,
      onSchemaChange: () => this.#catalog.schemaChanged(),
      onStatementDml: o.capture.onStatementDml,
      ...(o.onDdl !== undefined ? { onOutcome: o.onDdl } : {}),
      ...(o.resume !== undefined ? { resume: o.resume } : {}),
    });
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
        const before = this.#o.beforeFirstEvent;
        if (before !== undefined) {
          // The connection is not paused here: zongji queues its dump command right after 'ready',
          // and a paused mysql2 connection drops a command that starts meanwhile. The first event
          // is held instead (#onEvent), which pauses the connection.
          this.#preparing = true;
          const { gtidSet, filename, position } = z.options;
          const seeded = z.gtidSet ?? gtidSet;
          // zongji takes the end of the binlog from SHOW BINARY LOGS, whose File_size may arrive as text.
          const pos = Number(position);
          before({
            ...(seeded !== undefined && seeded !== '' ? { gtid: seeded } : {}),
            ...(filename !== undefined && Number.isSafeInteger(pos) ? { file: filename, pos } : {}),
          }).then(
            () => this.#prepared(),
            (err: unknown) => this.#fail(err),
          );
        }
        resolve();
      });
      z.on('error', (raw) => {
        const err = withUnsupportedCode(raw);
        reject(err);
        this.#fail(err);
      });
      z.on('binlog', (ev) => this.#onEvent(ev));
      z.start({ serverId: this.#o.serverId, excludeSchema: zongjiExcludeSchema(), ...this.#o.start });
    });
  }

  #onEvent(ev: AnyBinlogEvent): void {
    // After a failure nothing more is published: events that arrived in the same read as the failing
    // one (e.g. the transaction after an undecodable compressed one) must not reach the stream.
    if (this.#stopped || this.#failure !== undefined) return;
    if (this.#preparing) {
      this.#early.push(ev);
      this.#pause('prepare');
      return;
    }
    if (this.#o.fence?.() === false) {
      this.#fail(new SluiceError('SLUICE_LEASE_LOST', 'the capture lease ran out: not publishing'));
      return;
    }
    if (this.#o.checkpointStale?.() === true) {
      // Publishing on would store events later than the checkpoint's updatedAt lets a reconcile
      // scan look (docs/decisions/0009-exact-resume.md).
      this.#fail(new SluiceError('SLUICE_CHECKPOINT_STALE', 'the checkpoint could not be kept fresh'));
      return;
    }
    if (binlogEventChannel.hasSubscribers)
      binlogEventChannel.publish(describeBinlogEvent(ev, this.#boundaries.file));
    try {
      this.#dispatch(ev);
    } catch (err) {
      // Thrown inside mysql2's packet parser it would surface as an unrelated protocol error.
      this.#fail(err);
    }
  }

  #dispatch(ev: AnyBinlogEvent): void {
    // A rotate event ends its file; its time is when the file was closed (retention guard).
    if (ev.getEventName() === 'rotate') this.#o.rotations?.rotated(this.#boundaries.file, ev.timestamp);
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
      case 'xid':
      case 'xaprepare':
        if (this.#boundaries.apply(ev)) this.#committed();
        return;
      case 'query':
        this.#onQuery(ev as QueryEvent);
        return;
      case 'transactionpayload':
      case 'partialupdaterows':
        // Row changes zongji cannot decode: stop rather than read past them (unsupported-events.ts).
        this.#fail(unsupportedEvent(ev.getEventName()));
        return;
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
    if (!this.#o.isMariaDb) rawMysqlJson(ev); // sluice decodes MySQL's binary JSON (mysql/mysql-json.ts)
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

  // A DDL statement's event is published before the boundaries see the query, which may commit its
  // group: the tracker then holds the checkpoint until the event's PubAck. A statement-based DML that
  // fails capture throws here, so the boundaries never see it and no checkpoint passes it.
  #onQuery(ev: QueryEvent): void {
    const tx = (): OpenTransaction => this.#boundaries.current(ev);
    const sent = this.#ddl.handle(ev, tx, this.#boundaries.file, this.#onDdlAck, this.#onNack);
    if (sent && this.#publisher.full) {
      this.#pause('window');
      void this.#publisher.room().then(() => this.#resume('window'));
    }
    if (this.#boundaries.apply(ev)) this.#committed();
  }

  // A transaction's end was read: its held row goes out marked as the last one (decision 0010).
  #committed(): void {
    this.#rows.transactionEnded(this.#onAck, this.#onNack);
    this.#offerSafe();
  }

  readonly #onDdlAck = (tx: OpenTransaction): void => {
    this.#tracker.acked(tx);
    this.#acked++;
    this.#offerSafe();
  };

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

  #prepared(): void {
    this.#preparing = false;
    for (const ev of this.#early.splice(0)) this.#onEvent(ev);
    this.#resume('prepare');
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
    await this.#sender.idle(); // an oversized event being stored, and what waits behind it
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
