import { setTimeout as sleep } from 'node:timers/promises';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import {
  SluiceError,
  isSluiceError,
  type CaptureConfig,
  type Logger,
  type NatsConfig,
  type MysqlSourceConfig,
} from '@sluice/core';
import { CaptureLease } from '../resume/capture-lease.js';
import { positionText } from '../resume/capture-status.js';
import { classifyFailure, reconnectDelayMs } from './failure-policy.js';
import { BinlogSession, type StreamStart } from './binlog-session.js';
import {
  CheckpointWriter,
  loadCheckpoint,
  startPointFor,
  type Checkpoint,
} from '../resume/checkpoint-store.js';
import { mysqlOptions, redactUrl } from '../mysql/mysql-url.js';
import { preflight } from '../mysql/preflight.js';
import { RetentionMonitor } from '../retention/retention-monitor.js';
import { RotationLog, type RetentionStatus } from '../retention/retention.js';
import { reconcileWithStream } from '../resume/reconcile.js';
import { StreamFloor } from '../resume/reconcile-floor.js';
import { tableFilter, type TableFilter } from '../tables/schema-filter.js';
import { checkConstraintLookup } from '../tables/table-catalog.js';

/** Options of {@link BinlogCapture}. */
export interface BinlogCaptureOptions {
  readonly source: MysqlSourceConfig & { readonly url: string };
  readonly nats: NatsConfig;
  readonly capture: CaptureConfig;
  readonly nc: NatsConnection;
  /** The checkpoints bucket (core `openCheckpoints`); the key is the source id. */
  readonly checkpoints: KV;
  /**
   * The leases bucket (core `openLeases`): when given, only the holder of the source's lease captures;
   * other processes wait as standbys (decision 0008-capture-lease). @default no lease: always active
   */
  readonly leases?: KV;
  readonly logger: Logger;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** Uniform [0, 1) for reconnect jitter. @default Math.random */
  readonly random?: () => number;
}

/** Counters of a running {@link BinlogCapture}. */
export interface CaptureStats {
  /** Rows JetStream acknowledged (duplicates of replayed rows included). */
  readonly rowsPublished: number;
  /** Transactions whose commit event was read, captured rows or not. */
  readonly transactions: number;
  /** The checkpoint last stored (or loaded at start). */
  readonly lastCheckpoint: Checkpoint | undefined;
  /** Publishes awaiting their PubAck now. */
  readonly pendingAcks: number;
  /** Sessions restarted after a failure. */
  readonly reconnects: number;
  /** `active` while streaming (or reconnecting) under the lease, `standby` while another holds it. */
  readonly role: 'active' | 'standby';
  /** Rows not published on resume because the events stream already held them (decision 0009). */
  readonly rowsSkipped: number;
  /** DDL events JetStream acknowledged (docs/events.md, "DDL events"). */
  readonly ddlEvents: number;
  /** Statements in the binlog reported with `SLUICE_DDL_UNRECOGNISED`. */
  readonly ddlUnrecognised: number;
  /**
   * DML statements on captured tables written as SQL text, skipped with a warning
   * (`capture.onStatementDml: skip`): their rows were not captured.
   */
  readonly statementDml: number;
  /** Events over max_payload stored in the oversize object store and published as references (decision 0012). */
  readonly oversizeEvents: number;
  /** The checkpoint against the server's binlog retention, from the last check (decision 0012). */
  readonly retention: RetentionStatus | undefined;
  /**
   * True once this capturer streams under the lease from a stored position: every row committed from
   * then on is captured, across crashes and reconnects. False while standing by.
   */
  readonly ready: boolean;
  /** Where it became ready, as `0-1-42 (bin.000001:1234)` or `bin.000001:1234`; absent before. */
  readonly position: string | undefined;
}

/** A binlog position of the `ready` log line and stat. */
interface ReadyPosition {
  readonly gtid?: string;
  readonly file: string;
  readonly pos: number;
}

const LEASE_LOST = Symbol('lease lost');

interface Running {
  readonly session: BinlogSession;
  readonly writer: CheckpointWriter;
  readonly meta: Connection;
  readonly resume: StreamFloor;
}

/**
 * Captures one MySQL/MariaDB source's binlog into the events stream, checkpointing in KV only what
 * JetStream acknowledged (docs/decisions/0003-capture-checkpoints.md). Survives server restarts and
 * lost PubAcks by restarting from the last written checkpoint with backoff; stops for good, through
 * {@link done}, on anything a retry cannot fix.
 *
 * At under 500 lines this is one state machine — lease, open, reconcile, become ready, supervise,
 * reconnect, discard, close — whose steps share the running session and the stop/lease signals; the
 * work of each step lives in its own module (capture-lease, reconcile, checkpoint-store,
 * retention-monitor), and splitting the machine would scatter the one place its transitions are read.
 */
export class BinlogCapture {
  readonly #o: BinlogCaptureOptions;
  readonly #log: Logger;
  readonly #filter: TableFilter;
  readonly #now: () => number;
  readonly #random: () => number;
  #running: Running | undefined;
  #lastCheckpoint: Checkpoint | undefined;
  #rows = 0;
  #skippedBefore = 0;
  readonly #ddl = { published: 0, unrecognised: 0, 'statement-dml': 0 };
  #oversize = 0;
  readonly #rotations = new RotationLog();
  readonly #retention: RetentionMonitor;
  #transactionsBefore = 0;
  #reconnects = 0;
  /** Consecutive failed sessions; reset once a session makes progress, so the backoff grows across flapping. */
  #failures = 0;
  #started = false;
  #stopping = false;
  /** Where this capturer became ready; reset when it steps down to standby. */
  #readyFrom: ReadyPosition | undefined;
  readonly #lease: CaptureLease | undefined;
  #leaseLost!: () => void;
  #lostSignal: Promise<void> = new Promise((r) => (this.#leaseLost = r));
  #stopRequested!: () => void;
  readonly #stopSignal = new Promise<void>((r) => (this.#stopRequested = r));
  #settle!: { resolve: () => void; reject: (err: unknown) => void };
  /** Resolves after {@link stop}; rejects with a SluiceError on a fatal failure (exit non-zero). */
  readonly done: Promise<void>;

  constructor(opts: BinlogCaptureOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'capture', sourceId: opts.source.id });
    this.#filter = tableFilter(opts.source.include, opts.source.exclude);
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#lease =
      opts.leases === undefined
        ? undefined
        : new CaptureLease({
            kv: opts.leases,
            sourceId: opts.source.id,
            ttlMs: opts.capture.leaseTtlMs,
            skewMs: opts.capture.leaseSkewMs,
            logger: this.#log,
            now: this.#now,
          });
    this.#retention = new RetentionMonitor({
      intervalMs: opts.capture.retentionCheckIntervalMs,
      marginFiles: opts.capture.retentionMarginFiles,
      marginMs: opts.capture.retentionMarginMs,
      rotations: this.#rotations,
      logger: this.#log,
      now: this.#now,
    });
    this.done = new Promise((resolve, reject) => (this.#settle = { resolve, reject }));
    this.done.catch(() => undefined); // the owner observes it; never an unhandled rejection here
  }

  /**
   * Runs preflight, resumes from the stored checkpoint (or the end of the binlog when there is none)
   * and resolves once the binlog is streaming.
   * @throws SluiceError from preflight, `SLUICE_CHECKPOINT_CORRUPT`, `SLUICE_CHECKPOINT_FOREIGN`, or the first session's failure.
   */
  async start(): Promise<void> {
    if (this.#started) throw new Error('BinlogCapture.start() called twice');
    this.#started = true;
    try {
      this.#lastCheckpoint = await loadCheckpoint(this.#o.checkpoints, this.#o.source.id);
      if (await this.#takeLease()) await this.#open();
      else {
        // A standby still checks its configuration now: a broken one should not wait to fail over.
        await preflight(this.#o.source.url);
        this.#log.info('another capturer holds the lease: standing by');
      }
    } catch (err) {
      await this.#lease?.stop(true);
      this.#settle.reject(err);
      throw err;
    }
    this.#supervise().then(
      () => this.#settle.resolve(),
      // A fatal failure ends capture here: a lease still renewing would keep the process alive for
      // a TTL after the error (and keep a standby waiting for nothing).
      (err: unknown) => {
        void (this.#lease?.stop(true) ?? Promise.resolve()).finally(() => this.#settle.reject(err));
      },
    );
  }

  /** Stops reading, waits for outstanding PubAcks, writes the final checkpoint. Idempotent. */
  async stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      this.#stopRequested();
      if (!this.#started) this.#settle.resolve();
    }
    await this.done.catch(() => undefined);
  }

  /** A snapshot of the counters. */
  stats(): CaptureStats {
    const r = this.#running;
    const active = this.#lease === undefined || this.#lease.held;
    const from = active ? this.#readyFrom : undefined;
    return {
      rowsPublished: this.#rows,
      rowsSkipped: this.#skippedBefore + (r?.resume.skipped ?? 0),
      ddlEvents: this.#ddl.published,
      ddlUnrecognised: this.#ddl.unrecognised,
      statementDml: this.#ddl['statement-dml'],
      oversizeEvents: this.#oversize,
      retention: this.#retention.status,
      transactions: this.#transactionsBefore + (r?.session.transactions ?? 0),
      lastCheckpoint: r?.writer.written ?? this.#lastCheckpoint,
      pendingAcks: r?.session.pendingAcks ?? 0,
      reconnects: this.#reconnects,
      role: active ? 'active' : 'standby',
      ready: from !== undefined,
      position: from === undefined ? undefined : positionText(from),
    };
  }

  // Takes the source's lease if free (always true without a lease), and keeps it renewed.
  async #takeLease(): Promise<boolean> {
    const lease = this.#lease;
    if (lease === undefined) return true;
    if (!(await lease.tryAcquire())) return false;
    lease.keepRenewed(() => this.#leaseLost());
    return true;
  }

  // Standby: tries for the lease every third of its TTL until it has it or is stopped, then resumes
  // from the checkpoint the previous holder left.
  async #standBy(): Promise<void> {
    const every = Math.max(10, Math.floor(this.#o.capture.leaseTtlMs / 3));
    for (;;) {
      await Promise.race([sleep(every), this.#stopSignal]);
      if (this.#stopping) return;
      const taken = await this.#takeLease().catch((err: unknown) => {
        this.#log.warn({ err }, 'capture lease not readable; still standing by');
        return false;
      });
      if (!taken) continue;
      this.#lastCheckpoint = await loadCheckpoint(this.#o.checkpoints, this.#o.source.id);
      try {
        await this.#open();
        return;
      } catch (err) {
        const action = classifyFailure(err);
        if (action.kind === 'fatal') throw action.error;
        this.#log.warn({ err }, 'first session under the lease failed');
        return this.#reconnect();
      }
    }
  }

  async #supervise(): Promise<void> {
    for (;;) {
      if (this.#running === undefined) {
        await this.#standBy();
        if (this.#stopping) return this.#closeGracefully();
      }
      const failure = await Promise.race([
        this.#running!.session.failed,
        this.#stopSignal.then(() => undefined),
        this.#lostSignal.then(() => LEASE_LOST),
      ]);
      if (this.#stopping) return this.#closeGracefully();
      if (failure === LEASE_LOST || (isSluiceError(failure) && failure.code === 'SLUICE_LEASE_LOST')) {
        // Someone else captures now: nothing of this session may reach the stream or the checkpoint.
        this.#log.warn({ code: 'SLUICE_LEASE_LOST' }, 'capture lease lost: stepping down to standby');
        this.#readyFrom = undefined;
        this.#lostSignal = new Promise((r) => (this.#leaseLost = r));
        await this.#discard();
        continue;
      }
      const action = classifyFailure(failure);
      if (action.kind === 'fatal') this.#log.error({ err: action.error }, 'binlog capture failed; stopping');
      else this.#log.warn({ err: failure }, 'binlog session failed; restarting from the checkpoint');
      // A session that starts fine but fails before any PubAck (broker down) must not reset the backoff.
      this.#failures = this.#running!.session.progressed ? 0 : this.#failures;
      await this.#discard();
      if (action.kind === 'fatal') throw action.error;
      await this.#reconnect();
      // Stopped while reconnecting: a session may have started just before the stop arrived.
      if (this.#stopping) return this.#closeGracefully();
    }
  }

  async #reconnect(): Promise<void> {
    const { reconnectMinMs, reconnectMaxMs } = this.#o.capture;
    while (!this.#stopping) {
      const attempt = ++this.#failures;
      const delayMs = reconnectDelayMs(
        attempt,
        reconnectMinMs,
        Math.max(reconnectMinMs, reconnectMaxMs),
        this.#random(),
      );
      this.#log.info({ attempt, delayMs, from: this.#lastCheckpoint }, 'reconnecting to the binlog');
      await Promise.race([sleep(delayMs), this.#stopSignal]);
      if (this.#stopping) return;
      try {
        await this.#open();
        this.#reconnects++;
        this.#log.info({ attempt }, 'binlog capture resumed');
        return;
      } catch (err) {
        const action = classifyFailure(err);
        if (action.kind === 'fatal') throw action.error;
        this.#log.warn({ err, attempt }, 'reconnect attempt failed');
      }
    }
  }

  async #open(): Promise<void> {
    const { source } = this.#o;
    await preflight(source.url);
    const meta = await createConnection(mysqlOptions(source.url)).catch((cause: unknown) => {
      throw new SluiceError(
        'SLUICE_MYSQL_CONNECT',
        `cannot connect to ${redactUrl(source.url)}: ${(cause as Error).message}`,
        { cause },
      );
    });
    meta.on('error', () => undefined); // a dead server surfaces through zongji; don't crash on this one
    try {
      const [[server]] = await meta.query<RowDataPacket[]>(
        'SELECT @@server_id AS serverId, VERSION() AS version',
      );
      const isMariaDb = /mariadb/i.test(String(server!.version));
      const serverId = Number(server!.serverId);
      const cp = this.#lastCheckpoint;
      const writer = new CheckpointWriter(
        {
          kv: this.#o.checkpoints,
          sourceId: source.id,
          intervalMs: this.#o.capture.checkpointIntervalMs,
          heartbeatMs: this.#o.capture.checkpointHeartbeatMs,
          mayWrite: this.#lease === undefined ? undefined : () => this.#lease!.held,
          serverId,
          logger: this.#log,
          now: this.#now,
        },
        cp,
      );
      const resume = new StreamFloor();
      const session = new BinlogSession({
        url: source.url,
        serverId: source.serverId,
        sourceId: source.id,
        start: startPointFor(cp, serverId, this.#log),
        nats: this.#o.nats,
        capture: this.#o.capture,
        nc: this.#o.nc,
        filter: this.#filter,
        isMariaDb,
        jsonLookup: isMariaDb ? checkConstraintLookup(meta) : undefined,
        // A paused holder must not publish once its lease ran out by its own clock (CaptureLease).
        fence: this.#lease === undefined ? undefined : () => this.#lease!.held,
        checkpointStale: () => writer.stale,
        resume,
        beforeFirstEvent: (start) => this.#reconcile(cp, resume, writer, start),
        logger: this.#log,
        onSafe: (pos) => writer.offer({ ...pos, streamSeq: resume.at(pos) }),
        onRowAcked: () => this.#rows++,
        onOversize: () => this.#oversize++,
        rotations: this.#rotations,
        onDdl: (outcome) => {
          if (outcome === 'published' || outcome === 'unrecognised' || outcome === 'statement-dml')
            this.#ddl[outcome]++;
        },
      });
      this.#running = { session, writer, meta, resume };
      await session.start();
      this.#retention.start(meta, () => writer.written ?? cp);
    } catch (err) {
      await this.#discard();
      await meta.end().catch(() => undefined);
      throw err;
    }
  }

  // Exact resume (docs/decisions/0009-exact-resume.md), before the session handles its first event:
  // find what the stream already holds after the checkpoint, then refresh the checkpoint's updatedAt
  // so that it also bounds what this session will publish. Runs while the binlog is already open, so
  // a broker outage fails the session here rather than its start.
  async #reconcile(
    cp: Checkpoint | undefined,
    resume: StreamFloor,
    writer: CheckpointWriter,
    start: StreamStart,
  ): Promise<void> {
    const { capture } = this.#o;
    const found = await reconcileWithStream({
      nc: this.#o.nc,
      nats: this.#o.nats,
      sourceId: this.#o.source.id,
      checkpoint: cp,
      maxMessages: capture.reconcileMaxMessages,
      timeoutMs: capture.reconcileTimeoutMs,
      slackMs: capture.publishTimeoutMs + capture.leaseSkewMs,
      logger: this.#log,
      now: this.#now,
      cancelled: () => this.#running?.resume !== resume,
    });
    resume.load(found.floor, found.stored);
    // A first start streams from the end of the binlog: that position is stored before capture calls
    // itself ready, so that a crash before the first transaction cannot move the start past rows
    // written after `ready`. Nothing of this source is stored after it yet: the stream's end is its floor.
    const from: ReadyPosition | undefined =
      cp ??
      (start.file !== undefined && start.pos !== undefined
        ? { ...start, file: start.file, pos: start.pos }
        : undefined);
    await writer.start(
      cp === undefined && from !== undefined ? { ...from, streamSeq: found.floor } : undefined,
    );
    this.#becameReady(from);
  }

  // Logged once per becoming ready (first start, or taking over as standby), not per reconnect.
  #becameReady(from: ReadyPosition | undefined): void {
    if (this.#readyFrom !== undefined || from === undefined) return;
    this.#readyFrom = {
      ...(from.gtid !== undefined ? { gtid: from.gtid } : {}),
      file: from.file,
      pos: from.pos,
    };
    this.#log.info(this.#readyFrom, `ready: capturing from ${positionText(this.#readyFrom)}`);
  }

  // After a failure nothing of the session is trusted: no final checkpoint, just wait for a write
  // in flight so the next session starts from what is really stored.
  async #discard(): Promise<void> {
    const r = this.#running;
    if (r === undefined) return;
    this.#running = undefined;
    this.#retention.stop();
    this.#transactionsBefore += r.session.transactions;
    this.#skippedBefore += r.resume.skipped;
    await r.session.abort();
    await r.writer.close();
    this.#lastCheckpoint = r.writer.written ?? this.#lastCheckpoint;
    await r.meta.end().catch(() => undefined);
  }

  async #closeGracefully(): Promise<void> {
    const r = this.#running;
    if (r === undefined) {
      await this.#lease?.stop(false);
      return;
    }
    this.#running = undefined;
    this.#retention.stop();
    this.#transactionsBefore += r.session.transactions;
    this.#skippedBefore += r.resume.skipped;
    await r.session.stop();
    await r.writer.flush();
    this.#lastCheckpoint = r.writer.written ?? this.#lastCheckpoint;
    await r.meta.end().catch(() => undefined);
    await this.#lease?.stop(true);
    this.#log.info({ checkpoint: this.#lastCheckpoint, rows: this.#rows }, 'binlog capture stopped');
  }
}
