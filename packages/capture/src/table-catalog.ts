import type { TableMapEvent } from '@vlasky/zongji';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { TableShape } from './row-change.js';
import type { ColumnSpec } from './row-values.js';

const BLOB = 252;

/** Finds the columns of a table whose CHECK constraint is exactly `json_valid(col)`. */
export type JsonColumnLookup = (database: string, table: string) => Promise<ReadonlySet<string>>;

/**
 * The tables seen in the binlog, by TableMap table id: column specs and primary key, as of the
 * TableMap (binlog_row_metadata=FULL makes every TableMap self-describing, so an ALTER between the
 * write and the read cannot mislabel columns).
 *
 * MariaDB's JSON is LONGTEXT with a `json_valid()` CHECK, and the binlog carries no trace of it; the
 * one source is information_schema.CHECK_CONSTRAINTS, queried once per table shape. That reflects the
 * schema *now*, not when the row was written — a documented limit (docs/events.md).
 */
export class TableCatalog {
  readonly #byId = new Map<number, TableShape>();
  readonly #jsonBySignature = new Map<string, ReadonlySet<string>>();
  readonly #lookup: JsonColumnLookup | undefined;

  /** @param lookup - Set on MariaDB, where JSON columns must be looked up; absent on MySQL. */
  constructor(lookup?: JsonColumnLookup) {
    this.#lookup = lookup;
  }

  /** The shape for a rows event's table id, or `undefined` when its TableMap was not seen. */
  shape(tableId: number): TableShape | undefined {
    return this.#byId.get(tableId);
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
    const signature = [ev.schemaName, ev.tableName, ...columns.map((c) => `${c.name}:${c.type}`)].join('\0');
    const known = this.#jsonBySignature.get(signature);
    const build = (json: ReadonlySet<string>): void => {
      this.#byId.set(ev.tableId, shapeOf(ev, json));
    };
    if (known !== undefined || !captured || candidates.length === 0 || this.#lookup === undefined) {
      build(known ?? new Set());
      return undefined;
    }
    // Until the lookup settles, rows decode as text; the paused binlog guarantees none arrive.
    build(new Set());
    return this.#lookup(ev.schemaName, ev.tableName).then((json) => {
      this.#jsonBySignature.set(signature, json);
      build(json);
    });
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

/** A {@link JsonColumnLookup} reading information_schema.CHECK_CONSTRAINTS over `meta` (MariaDB). */
export function checkConstraintLookup(meta: Connection): JsonColumnLookup {
  return async (database, table) => {
    try {
      const [rows] = await meta.query<RowDataPacket[]>(
        'SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?',
        [database, table],
      );
      return new Set(
        rows.map((r) => jsonValidColumn(String(r.clause))).filter((c): c is string => c !== undefined),
      );
    } catch (err) {
      // mysql2 reports a query on a dead connection without any code; mark it as the connection loss it is.
      const e = err as { code?: string };
      if (e.code === undefined && /closed state/.test(String((err as Error).message)))
        e.code = 'PROTOCOL_CONNECTION_LOST';
      throw err;
    }
  };
}
