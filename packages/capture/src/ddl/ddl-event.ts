import type { MariadbGtidEvent, QueryEvent } from '@vlasky/zongji';
import {
  cdcEventId,
  ddlEventType,
  eventAddress,
  type CloudEvent,
  type EventAddress,
  type Logger,
  type NatsConfig,
  type PubAck,
} from '@sluice/core';
import type { StreamFloor } from '../resume/reconcile-floor.js';
import { classifyStatement, type DdlKind, type DdlObject, type StatementClass } from './ddl-statement.js';
import type { TableFilter } from '../tables/schema-filter.js';
import { maskLiterals, redactSecrets } from '../mysql/sql-lexer.js';
import {
  judgeStatementDml,
  statementDmlError,
  type StatementDmlPolicy,
  type StatementWhere,
} from './statement-dml.js';
import type { OpenTransaction, TransactionTracker } from '../transactions/transaction-tracker.js';

/** `data` of a DDL event (docs/events.md, "DDL events"). */
export interface DdlChange {
  readonly kind: DdlKind;
  readonly object: DdlObject;
  /** The database the statement acts on: the first captured table's, else the one it names or runs in. */
  readonly database: string;
  /** The first captured table (or view, sequence) the statement names; `null` when it names none. */
  readonly table: string | null;
  /** The statement as the binlog holds it, credentials redacted (`'<redacted>'`). */
  readonly statement: string;
  /** The session's default database when the statement ran (`USE`), for its unqualified names. */
  readonly defaultDatabase: string | null;
}

/**
 * What became of one `query` event, reported through {@link DdlPublisherOptions.onOutcome};
 * `statement-dml`: DML written as SQL text on a captured table, skipped (`capture.onStatementDml`).
 */
export type DdlOutcome =
  'published' | 'filtered' | 'account' | 'maintenance' | 'unrecognised' | 'statement-dml';

// MariaDB's binlog_alter_two_phase writes one ALTER twice, with the same text: a START ALTER group
// when it begins and a COMMIT ALTER or ROLLBACK ALTER group when it ends. Only the commit changed the
// table. TransactionBoundaries keeps each group's GTID event on its transaction as `mariadbGtid`.
const FL_START_ALTER = 0x02;
const FL_ROLLBACK_ALTER = 0x08;
function isAlterPhase(tx: OpenTransaction): boolean {
  const gtid = (tx as { mariadbGtid?: MariadbGtidEvent }).mariadbGtid;
  return ((gtid?.flagsExtra ?? 0) & (FL_START_ALTER | FL_ROLLBACK_ALTER)) !== 0;
}

/**
 * Where a DDL statement belongs, or `undefined` when the source does not capture it. A statement naming
 * tables belongs to the first one the filter accepts (`defaultDb` qualifies bare names); one naming
 * none (CREATE DATABASE, CREATE PROCEDURE, …) to its database, captured only when the filter takes
 * the database as a whole (`shop`, `shop.*`) — the empty table name matches no narrower pattern.
 */
export function ddlTarget(
  s: Extract<StatementClass, { category: 'ddl' }>,
  defaultDb: string,
  filter: TableFilter,
): { database: string; table: string | null } | undefined {
  if (s.tables.length > 0) {
    for (const t of s.tables) {
      const database = t.database ?? defaultDb;
      if (database !== '' && filter(database, t.name)) return { database, table: t.name };
    }
    return undefined;
  }
  const database = s.database ?? defaultDb;
  return database !== '' && filter(database, '') ? { database, table: null } : undefined;
}

/** Options of {@link DdlPublisher}. */
export interface DdlPublisherOptions {
  /**
   * Publishes through the session's ack window, in order with the rows (its `EventSender`, which also
   * handles an event larger than the server accepts); resolves with the PubAck.
   */
  readonly send: (address: EventAddress, event: CloudEvent) => Promise<PubAck>;
  readonly tracker: TransactionTracker;
  readonly nats: NatsConfig;
  readonly sourceId: string;
  readonly filter: TableFilter;
  readonly logger: Logger;
  /** Called for every DDL statement read (published or not): table definitions may have changed. */
  readonly onSchemaChange: () => void;
  /**
   * What to do with DML written as SQL text on a captured table: `fail` throws
   * `SLUICE_BINLOG_STATEMENT_DML` from {@link DdlPublisher.handle}. @default 'fail'
   */
  readonly onStatementDml?: StatementDmlPolicy;
  /** Called once per outcome; `published` once JetStream acknowledged the event. */
  readonly onOutcome?: (outcome: DdlOutcome) => void;
  /**
   * What the reconcile scan found stored: those events are not published again, exactly as rows
   * (docs/decisions/0009-exact-resume.md). @default publish every event
   */
  readonly resume?: StreamFloor;
}

/**
 * Turns the DDL statements of the binlog into `mysql.<database>.ddl` events, in binlog order, through
 * the same ack window and transaction tracker as rows: a DDL event counts as an outstanding publish of
 * its transaction (the DDL group), so no checkpoint passes it before its PubAck.
 *
 * Every statement but transaction control takes one index of its transaction, published or not, so
 * event ids (source, transaction, index) do not depend on the filter. Account statements
 * (CREATE USER, GRANT, SET PASSWORD, …) are never published and their text is never logged: the
 * binlog holds their passwords in clear.
 */
export class DdlPublisher {
  readonly #o: DdlPublisherOptions;

  constructor(o: DdlPublisherOptions) {
    this.#o = o;
  }

  /**
   * Handles one `query` event; call it before the transaction boundaries see the event, which may
   * commit the transaction. `tx` yields the event's open transaction.
   * @returns true when an event was published.
   * @throws SluiceError `SLUICE_BINLOG_STATEMENT_DML` for DML on a captured table under `onStatementDml: fail`:
   *   the caller must not let the boundaries see the event, so that no checkpoint passes it.
   */
  handle(
    ev: QueryEvent,
    tx: () => OpenTransaction,
    file: string,
    onAck: (tx: OpenTransaction) => void,
    onNack: (err: unknown) => void,
  ): boolean {
    const s = classifyStatement(ev.query);
    if (s.category === 'transaction') return false;
    const t = tx();
    const index = t.nextRowIndex++;
    const position = ev.nextPosition > 0 ? `${file}:${ev.nextPosition}` : t.id;
    if (s.category === 'dml') {
      this.#statementDml(s, ev, { transaction: t.id, position });
      return false;
    }
    if (s.category !== 'ddl') {
      this.#skip(s.category, { transaction: t.id, position }, ev.query);
      return false;
    }
    this.#o.onSchemaChange();
    if (isAlterPhase(t)) {
      this.#o.logger.debug({ transaction: t.id, position }, 'two-phase ALTER: waiting for its COMMIT ALTER');
      this.#o.onOutcome?.('maintenance');
      return false;
    }
    const target = ddlTarget(s, ev.schema, this.#o.filter);
    if (target === undefined) {
      this.#o.onOutcome?.('filtered');
      return false;
    }
    const id = cdcEventId({ sourceId: this.#o.sourceId, transaction: t.id, rowIndex: index });
    const resume = this.#o.resume;
    if (resume?.alreadyStored(t, id) === true) return false;
    const data: DdlChange = {
      kind: s.kind,
      object: s.object,
      ...target,
      statement: redactSecrets(ev.query),
      defaultDatabase: ev.schema === '' ? null : ev.schema,
    };
    const event = ddlEvent({
      id,
      sourceId: this.#o.sourceId,
      data,
      timeMs: ev.timestamp,
      position,
      tx: t.id,
      index,
    });
    // Partitioned by database: a schema's DDL keeps its order across its tables.
    const acked = this.#o.send(eventAddress(this.#o.nats, event, target.database, this.#o.sourceId), event);
    this.#o.tracker.published(t);
    resume?.published(t);
    acked.then((ack) => {
      resume?.acked(t, ack);
      onAck(t);
      this.#o.onOutcome?.('published');
    }, onNack);
    return true;
  }

  #statementDml(
    s: Extract<StatementClass, { category: 'dml' }>,
    ev: QueryEvent,
    where: StatementWhere,
  ): void {
    const verdict = judgeStatementDml(s, ev.schema, this.#o.filter, this.#o.onStatementDml ?? 'fail');
    const statement = maskLiterals(ev.query);
    switch (verdict.kind) {
      case 'ignore':
        this.#o.logger.debug({ ...where, statement }, 'statement-based DML on tables not captured');
        this.#o.onOutcome?.('filtered');
        return;
      case 'skip':
        this.#o.logger.warn(
          { ...where, code: 'SLUICE_BINLOG_STATEMENT_DML', tables: verdict.tables, statement },
          'statement-based DML on a captured table: its rows are not captured (capture.onStatementDml: skip)',
        );
        this.#o.onOutcome?.('statement-dml');
        return;
      case 'fail':
        throw statementDmlError(s.verb, verdict.tables, where, statement);
    }
  }

  #skip(category: 'account' | 'maintenance' | 'unrecognised', where: object, query: string): void {
    const log = this.#o.logger;
    if (category === 'account') {
      log.info(where, 'account statement in the binlog: not published (it may hold a password)');
    } else if (category === 'maintenance') {
      log.debug({ ...where, statement: maskLiterals(query) }, 'maintenance statement: no event');
    } else {
      this.#o.onSchemaChange();
      log.warn(
        { ...where, code: 'SLUICE_DDL_UNRECOGNISED', statement: maskLiterals(query) },
        'statement in the binlog not recognised: no event published, capture goes on',
      );
    }
    this.#o.onOutcome?.(category);
  }
}

/** Builds the CloudEvent of one DDL statement (docs/events.md, "DDL events"). */
export function ddlEvent(input: {
  readonly id: string;
  readonly sourceId: string;
  readonly data: DdlChange;
  /** When the statement started, ms since the epoch. */
  readonly timeMs: number;
  readonly position: string;
  readonly tx: string;
  readonly index: number;
}): CloudEvent<DdlChange> {
  return {
    specversion: '1.0',
    id: input.id,
    source: `/sluice/mysql/${input.sourceId}`,
    type: ddlEventType(input.data.database),
    subject: input.data.database,
    time: new Date(input.timeMs).toISOString(),
    datacontenttype: 'application/json',
    data: input.data,
    sluiceposition: input.position,
    sluicetxid: input.tx,
    sluicetxindex: input.index,
  };
}
