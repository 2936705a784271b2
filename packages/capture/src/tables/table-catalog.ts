import type { TableMapEvent } from '@vlasky/zongji';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { Logger } from '@sluice/core';
import type { TableShape } from '../rows/row-change.js';
import { ColumnType, type ColumnSpec } from '../mysql/row-values.js';

const BLOB = 252;
const EMPTY: ReadonlySet<string> = new Set();

/**
 * What a {@link JsonColumnLookup} finds about a table's *current* definition: the columns whose CHECK
 * constraint is exactly `json_valid(col)`.
 */
export interface JsonColumns extends ReadonlySet<string> {
  /**
   * When the current definition was made, Unix seconds: `information_schema.TABLES.CREATE_TIME`,
   * which every ALTER, RENAME and re-CREATE resets (the `.frm` file is rewritten). `undefined` when the
   * table no longer exists or the lookup does not tell.
   */
  readonly definedAtSec?: number | undefined;
}

/** Looks up a table's JSON columns as the server defines them now (MariaDB). */
export type JsonColumnLookup = (database: string, table: string) => Promise<JsonColumns>;

/**
 * True when a definition made at `definedAtSec` was already in place when a statement that started
 * at `rowTimeMs` ran. Both are whole seconds of the source's clock, and the file-system clock behind
 * CREATE_TIME may trail the server's by a tick, so a full second must lie between them.
 */
export function definitionPredates(definedAtSec: number | undefined, rowTimeMs: number): boolean {
  return definedAtSec !== undefined && Math.floor(rowTimeMs / 1000) - definedAtSec >= 2;
}

/**
 * The tables seen in the binlog, by TableMap table id: column specs and primary key, as of the
 * TableMap (binlog_row_metadata=FULL makes every TableMap self-describing, so an ALTER between the
 * write and the read cannot mislabel columns).
 *
 * MariaDB's JSON is LONGTEXT with a `json_valid()` CHECK, and the binlog carries no trace of it; the
 * one source is information_schema, which describes the table *now*. Its answer is used as it is when
 * the table's current definition predates the rows ({@link definitionPredates}); otherwise a DDL
 * statement later in the binlog may have added, dropped or renamed a JSON column, and the rows are
 * still decoded by the current definition's column names but with a `SLUICE_TABLE_SHAPE_UNCERTAIN`
 * warning (docs/events.md, "Limits"). Answers are cached per table shape until the binlog shows a DDL
 * statement ({@link schemaChanged}).
 */
export class TableCatalog {
  readonly #byId = new Map<number, TableShape>();
  readonly #jsonBySignature = new Map<string, JsonColumns>();
  readonly #warned = new Set<string>();
  readonly #lookup: JsonColumnLookup | undefined;
  readonly #log: Logger | undefined;

  /**
   * @param lookup - Set on MariaDB, where JSON columns must be looked up; absent on MySQL.
   * @param logger - Receives `SLUICE_TABLE_SHAPE_UNCERTAIN` warnings.
   */
  constructor(lookup?: JsonColumnLookup, logger?: Logger) {
    this.#lookup = lookup;
    this.#log = logger;
  }

  /** The shape for a rows event's table id, or `undefined` when its TableMap was not seen. */
  shape(tableId: number): TableShape | undefined {
    return this.#byId.get(tableId);
  }

  /**
   * Forgets every looked-up definition. Called for each DDL statement read from the binlog: the
   * TableMaps after it may belong to a definition the cached answers do not describe.
   */
  schemaChanged(): void {
    this.#jsonBySignature.clear();
    this.#warned.clear();
  }

  /**
   * Records a TableMap. Returns a promise when JSON columns must first be looked up: the caller pauses
   * the binlog until it settles, because the row events that follow need the finished shape.
   */
  onTableMap(ev: TableMapEvent, captured: boolean): Promise<void> | undefined {
    const entry = ev.tableMap[ev.tableId];
    const columns = entry?.columns ?? [];
    const candidates = columns.filter(
      (c) => c.type === BLOB && c.charset !== null && c.metadata?.length_size === 4,
    );
    if (captured && this.#lookup !== undefined) this.#checkTemporal(ev);
    const signature = [ev.schemaName, ev.tableName, ...columns.map((c) => `${c.name}:${c.type}`)].join('\0');
    const build = (found: JsonColumns | undefined): void => {
      const json = found === undefined ? EMPTY : this.#trusted(ev, signature, found, candidates);
      this.#byId.set(ev.tableId, shapeOf(ev, json));
    };
    const known = this.#jsonBySignature.get(signature);
    if (known !== undefined || !captured || candidates.length === 0 || this.#lookup === undefined) {
      build(known);
      return undefined;
    }
    // Until the lookup settles, rows decode as text; the paused binlog guarantees none arrive.
    build(undefined);
    return this.#lookup(ev.schemaName, ev.tableName).then((found) => {
      this.#jsonBySignature.set(signature, found);
      build(found);
    });
  }

  #trusted(
    ev: TableMapEvent,
    signature: string,
    found: JsonColumns,
    candidates: readonly { name: string }[],
  ): ReadonlySet<string> {
    if (!definitionPredates(found.definedAtSec, ev.timestamp) && !this.#warned.has(signature)) {
      this.#warned.add(signature);
      this.#log?.warn(
        {
          code: 'SLUICE_TABLE_SHAPE_UNCERTAIN',
          database: ev.schemaName,
          table: ev.tableName,
          textColumns: candidates.map((c) => c.name),
          jsonColumns: [...found],
          rowTime: new Date(ev.timestamp).toISOString(),
          definedAt:
            found.definedAtSec === undefined ? null : new Date(found.definedAtSec * 1000).toISOString(),
        },
        'table redefined after these rows were written: JSON columns taken from the current definition',
      );
    }
    return found;
  }

  // zongji decodes MariaDB tables with classic (pre-10.0) TIME/DATETIME/TIMESTAMP columns through
  // information_schema instead of the TableMap, because the binlog cannot tell them from 5.3 "hires"
  // ones: such rows get the current definition's column names.
  #checkTemporal(ev: TableMapEvent): void {
    const classic = [ColumnType.TIMESTAMP, ColumnType.TIME, ColumnType.DATETIME] as number[];
    const key = `temporal\0${ev.schemaName}\0${ev.tableName}`;
    if (this.#warned.has(key) || !ev.columnTypes.some((t) => classic.includes(t))) return;
    this.#warned.add(key);
    this.#log?.warn(
      { code: 'SLUICE_TABLE_SHAPE_UNCERTAIN', database: ev.schemaName, table: ev.tableName },
      'classic temporal columns: rows decoded with the current definition from information_schema',
    );
  }
}

function shapeOf(ev: TableMapEvent, json: ReadonlySet<string>): TableShape {
  const columns = ev.tableMap[ev.tableId]?.columns ?? [];
  const specs: ColumnSpec[] = columns.map((c) => ({
    name: c.name,
    type: c.type,
    json: json.has(c.name),
    ...(typeof c.metadata?.bits === 'number' ? { bits: c.metadata.bits } : {}),
  }));
  return {
    database: ev.schemaName,
    table: ev.tableName,
    columns: specs,
    primaryKey: (ev.primaryKey ?? [])
      .map((i) => columns[i]?.name)
      .filter((n): n is string => n !== undefined),
  };
}

const JSON_VALID = /^json_valid\(`((?:[^`]|``)+)`\)$/i;

/** The column named by a `json_valid(\`col\`)` check clause, or `undefined` for any other clause. */
export function jsonValidColumn(checkClause: string): string | undefined {
  const m = JSON_VALID.exec(checkClause.trim());
  return m ? m[1]!.replaceAll('``', '`') : undefined;
}

// One round trip; `SET STATEMENT` (MariaDB) makes UNIX_TIMESTAMP exact in every zone, DST included.
const LOOKUP = `SET STATEMENT time_zone = '+00:00' FOR
SELECT UNIX_TIMESTAMP(t.CREATE_TIME) AS definedAt, c.CHECK_CLAUSE AS clause
FROM information_schema.TABLES t LEFT JOIN information_schema.CHECK_CONSTRAINTS c
  ON c.CONSTRAINT_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
WHERE t.TABLE_SCHEMA = ? AND t.TABLE_NAME = ?`;

/** A {@link JsonColumnLookup} reading information_schema over `meta` (MariaDB). */
export function checkConstraintLookup(meta: Connection): JsonColumnLookup {
  return async (database, table) => {
    try {
      const [rows] = await meta.query<RowDataPacket[]>(LOOKUP, [database, table]);
      const definedAt = rows[0]?.definedAt as string | number | null | undefined;
      const json = rows
        .map((r) => (r.clause === null ? undefined : jsonValidColumn(String(r.clause))))
        .filter((c): c is string => c !== undefined);
      return Object.assign(new Set(json), {
        definedAtSec:
          definedAt === null || definedAt === undefined ? undefined : Math.floor(Number(definedAt)),
      });
    } catch (err) {
      // mysql2 reports a query on a dead connection without any code; mark it as the connection loss it is.
      const e = err as { code?: string };
      if (e.code === undefined && /closed state/.test(String((err as Error).message)))
        e.code = 'PROTOCOL_CONNECTION_LOST';
      throw err;
    }
  };
}
