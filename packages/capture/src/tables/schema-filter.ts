/**
 * Which tables a source captures, from `source.include` / `source.exclude` patterns: `db` (every table
 * of a schema) or `db.table`, where `*` matches any run of characters. Names match exactly
 * (case-sensitive, as on Linux servers).
 */

/** Schemas that are never captured: server internals, whatever the patterns say. */
export const SYSTEM_SCHEMAS = ['mysql', 'sys', 'information_schema', 'performance_schema'] as const;

/** A compiled table filter. */
export type TableFilter = (database: string, table: string) => boolean;

interface Pattern {
  db: RegExp;
  table: RegExp;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}

function compile(pattern: string): Pattern {
  // The first dot separates schema from table; a schema name containing a dot cannot be written
  // as a pattern (documented limitation: quote-free configuration).
  const dot = pattern.indexOf('.');
  const db = dot < 0 ? pattern : pattern.slice(0, dot);
  const table = dot < 0 ? '*' : pattern.slice(dot + 1);
  return { db: globToRegExp(db), table: globToRegExp(table) };
}

/**
 * Compiles include/exclude patterns. An empty include list means every table; exclude wins over
 * include; {@link SYSTEM_SCHEMAS} are always excluded.
 */
export function tableFilter(include: readonly string[], exclude: readonly string[]): TableFilter {
  const inc = include.map(compile);
  const exc = exclude.map(compile);
  const system = new Set<string>(SYSTEM_SCHEMAS);
  const matches = (p: Pattern, db: string, t: string): boolean => p.db.test(db) && p.table.test(t);
  return (db, t) => {
    if (system.has(db)) return false;
    if (exc.some((p) => matches(p, db, t))) return false;
    return inc.length === 0 || inc.some((p) => matches(p, db, t));
  };
}

/**
 * zongji's own schema filter: only the system schemas. User patterns are applied in code instead, so
 * that rows of uncaptured tables are still decoded and counted — the row index inside a transaction
 * (part of every event id) must not change when someone edits include/exclude.
 * See docs/decisions/0003-capture-checkpoints.md.
 */
export function zongjiExcludeSchema(): Record<string, true> {
  return Object.fromEntries(SYSTEM_SCHEMAS.map((s) => [s, true as const]));
}
