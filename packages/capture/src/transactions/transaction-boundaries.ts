import {
  GtidSet,
  MariadbGtidPosition,
  type AnyBinlogEvent,
  type MariadbGtidEvent,
  type QueryEvent,
} from '@vlasky/zongji';
import type { Logger } from '@sluice/core';
import type { OpenTransaction, TransactionTracker } from './transaction-tracker.js';

interface TxState extends OpenTransaction {
  /** MariaDB DDL group: ends with its one query event, no commit marker. */
  standalone: boolean;
  /** A `BEGIN` query was seen: the group is transactional and ends with COMMIT/XID. */
  sawBegin: boolean;
  mariadbGtid: MariadbGtidEvent | undefined;
  /** MySQL GTID (`uuid:gno`) of the group. */
  mysqlGtid: string | undefined;
}

/**
 * Reads transaction boundaries out of the binlog event sequence and reports them to a
 * {@link TransactionTracker}: where each transaction begins (its identity: GTID, or `file:pos` where its
 * first event ends) and where it ends (file, offset after the commit event, GTID position including it).
 *
 * Grammar relied on: MariaDB starts every group with a GTID event (flagged standalone for DDL, which then
 * ends with its single query event); MySQL starts with a GTID/anonymous-GTID event, transactional groups
 * continue with a `BEGIN` query and end with XID or `COMMIT`, DDL is one query after the GTID event.
 */
export class TransactionBoundaries {
  readonly #tracker: TransactionTracker;
  readonly #isMariaDb: boolean;
  readonly #zongjiGtidSet: () => string | undefined;
  readonly #log: Logger;
  #file = '';
  #tx: TxState | undefined;
  #gtidPos: MariadbGtidPosition | undefined;

  constructor(
    tracker: TransactionTracker,
    o: { isMariaDb: boolean; zongjiGtidSet: () => string | undefined; logger: Logger },
  ) {
    this.#tracker = tracker;
    this.#isMariaDb = o.isMariaDb;
    this.#zongjiGtidSet = o.zongjiGtidSet;
    this.#log = o.logger;
  }

  /**
   * Sets the starting state once zongji is ready. zongji's executed-GTID seed (the start position, or
   * gtid_current_pos for startAtEnd) is exact; our own copy then also covers DDL groups, which zongji
   * folds into its set only when the next group starts.
   */
  seed(gtidSet: string | undefined, file: string | undefined): void {
    if (this.#isMariaDb && gtidSet !== undefined) this.#gtidPos = MariadbGtidPosition.parse(gtidSet);
    if (file !== undefined) this.#file = file;
  }

  /** The binlog file being read. */
  get file(): string {
    return this.#file;
  }

  /** Applies a rotate, GTID, query, XID or XA-prepare event; returns true when it committed a transaction. */
  apply(ev: AnyBinlogEvent): boolean {
    const name: string = ev.getEventName();
    switch (name) {
      case 'rotate':
        this.#file = (ev as Extract<AnyBinlogEvent, { binlogName: string; position: number }>).binlogName;
        return false;
      case 'mariadbgtid': {
        const g = ev as MariadbGtidEvent;
        this.#begin(g.gtid, g.nextPosition, { standalone: g.standalone, mariadbGtid: g });
        return false;
      }
      case 'gtid':
        this.#begin(ev.gtid, ev.nextPosition, { mysqlGtid: ev.gtid });
        return false;
      case 'anonymousgtid':
        // gtid_mode=OFF (MySQL's default): every anonymous GTID event reads as SID zero, GNO 0, so it
        // cannot tell transactions apart; its position can (`file:pos`, as for a group without one).
        this.#begin(undefined, ev.nextPosition, {});
        return false;
      case 'query':
        return this.#onQuery(ev as QueryEvent);
      case 'xid':
      case 'xaprepare':
        return this.#commit(ev.nextPosition);
      default:
        throw new Error(`not a boundary event: ${name}`);
    }
  }

  /** The transaction a rows event belongs to. */
  current(ev: { gtid?: string; nextPosition: number }): OpenTransaction {
    if (this.#tx !== undefined) return this.#tx;
    // Sessions start at boundaries, so this should not happen; an own identity keeps ids deterministic.
    this.#log.warn({ file: this.#file, pos: ev.nextPosition }, 'row event outside a transaction');
    return this.#begin(ev.gtid, ev.nextPosition, {});
  }

  #begin(gtid: string | undefined, nextPosition: number, extra: Partial<TxState>): TxState {
    if (this.#tx !== undefined) {
      // The open group ended without a marker we recognise, so its end is unknown: it stays open in the
      // tracker and holds the checkpoint back until the session restarts — replay, never a skip.
      this.#log.warn(
        { transaction: this.#tx.id },
        'transaction without a recognised end; checkpoint held back',
      );
    }
    const tx = this.#tracker.begin(gtid ?? `${this.#file}:${nextPosition}`) as TxState;
    Object.assign(tx, {
      standalone: false,
      sawBegin: false,
      mariadbGtid: undefined,
      mysqlGtid: undefined,
      ...extra,
    });
    this.#tx = tx;
    return tx;
  }

  #onQuery(ev: QueryEvent): boolean {
    const q = ev.query.trim().toUpperCase();
    const tx = this.#tx;
    if (q === 'BEGIN' || q.startsWith('XA START')) {
      if (tx === undefined) this.#begin(ev.gtid, ev.nextPosition, { sawBegin: true });
      else tx.sawBegin = true;
      return false;
    }
    if (tx === undefined) {
      this.#begin(ev.gtid, ev.nextPosition, {}); // DDL without any GTID event: a group of its own
      return this.#commit(ev.nextPosition);
    }
    const ends =
      q === 'COMMIT' || q === 'ROLLBACK' || q.startsWith('XA COMMIT') || q.startsWith('XA ROLLBACK');
    const ddlAfterMysqlGtid = tx.mariadbGtid === undefined && !tx.sawBegin;
    if (tx.standalone || ends) return this.#commit(ev.nextPosition);
    return ddlAfterMysqlGtid ? this.#commit(ev.nextPosition, true) : false;
  }

  /** @param ownGtid - Add the group's MySQL GTID to zongji's set (a DDL group, see {@link withGtid}). */
  #commit(nextPosition: number, ownGtid = false): boolean {
    const tx = this.#tx;
    if (tx === undefined) return false;
    this.#tx = undefined;
    if (tx.mariadbGtid !== undefined && this.#gtidPos !== undefined) this.#gtidPos.add(tx.mariadbGtid);
    const zongjiSet = this.#zongjiGtidSet();
    const gtid = this.#isMariaDb
      ? this.#gtidPos?.toString()
      : ownGtid
        ? withGtid(zongjiSet, tx.mysqlGtid)
        : zongjiSet;
    this.#tracker.commit(tx, {
      file: this.#file,
      pos: nextPosition,
      // An empty set (no GTIDs, e.g. MySQL's gtid_mode=OFF) names no position: resuming with it would
      // ask for the whole history, so the checkpoint resumes by file/pos instead.
      ...(gtid !== undefined && gtid !== '' ? { gtid } : {}),
    });
    return true;
  }
}

/**
 * `set` plus `gtid`. zongji folds a MySQL GTID into its set at XID or COMMIT, and otherwise only when
 * the next group starts, so a DDL group (one query, no commit marker) would be missing from its own
 * checkpoint and replayed on resume.
 */
function withGtid(set: string | undefined, gtid: string | undefined): string | undefined {
  if (set === undefined || gtid === undefined) return set;
  try {
    const s = GtidSet.parse(set);
    if (s.contains(gtid)) return set;
    s.add(gtid);
    return s.toString();
  } catch {
    return set; // not a set zongji could have made: left as it came
  }
}
