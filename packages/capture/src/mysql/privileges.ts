/**
 * Least privilege for the capture user: what it lacks (replication privileges, SELECT on the captured
 * schemas) and what it holds beyond that, with the GRANT and REVOKE statements that fix either.
 * Pure: judged from `SHOW GRANTS` lines (grants.ts) and the source's include patterns.
 */
import { holds, type Grant } from './grants.js';

/** An object of a GRANT statement and privileges on it. */
export interface ObjectPrivileges {
  /** As written in GRANT/REVOKE: `*.*`, `` `shop`.* ``, `` `shop`.`orders` ``. */
  readonly object: string;
  readonly privileges: readonly string[];
  readonly grantOption: boolean;
}

/** What {@link checkSelect} finds. */
export interface SelectCheck {
  /** Objects of the include patterns that lack SELECT, as GRANT objects. */
  readonly missing: readonly string[];
  /** Set when the grants cannot be checked against the patterns (no include list, wildcards). */
  readonly warning?: string;
}

const quoteName = (name: string): string => `\`${name.replaceAll('`', '``')}\``;

/** `'user'@'host'` for a GRANT or REVOKE, from `CURRENT_USER()` (`user@host`). */
export function accountOf(currentUser: string): string {
  const at = currentUser.lastIndexOf('@');
  const [user, host] = at < 0 ? [currentUser, '%'] : [currentUser.slice(0, at), currentUser.slice(at + 1)];
  const q = (s: string): string => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  return `${q(user)}@${q(host)}`;
}

// A database name pattern of a GRANT (`%` any run, `_` one character, `\` escapes) against a name.
function dbMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (ch === '%') re += '.*';
    else if (ch === '_') re += '.';
    else re += escapeRe(ch);
  }
  return new RegExp(`^${re}$`, 's').test(name);
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const grantsSelect = (g: Grant): boolean => holds(g.privileges, 'SELECT');

/**
 * Checks SELECT on what `include` captures: each `db` pattern needs it on `db`.*, each `db.table`
 * on the table (or its database). Schema patterns with `*`, and an empty include list (every schema),
 * can only be checked against a global grant; otherwise they yield a warning, not a failure.
 */
export function checkSelect(grants: readonly Grant[], include: readonly string[]): SelectCheck {
  const global = grants.some((g) => g.database === '*' && grantsSelect(g));
  if (global) return { missing: [] };
  const onDb = (db: string): boolean =>
    grants.some((g) => g.table === '*' && dbMatches(g.database, db) && grantsSelect(g));
  const onTable = (db: string, t: string): boolean =>
    onDb(db) || grants.some((g) => g.table === t && dbMatches(g.database, db) && grantsSelect(g));
  if (include.length === 0) {
    const some = grants.filter((g) => g.database !== '*' && grantsSelect(g)).map((g) => objectOf(g));
    return {
      missing: [],
      warning:
        `source.include is empty, so every schema is captured, but SELECT is granted ${some.length > 0 ? `only on ${some.join(', ')}` : 'on none'}; ` +
        'list the captured schemas in source.include (or GRANT SELECT on each)',
    };
  }
  const missing = new Set<string>();
  const unverified: string[] = [];
  for (const pattern of include) {
    const dot = pattern.indexOf('.');
    const db = dot < 0 ? pattern : pattern.slice(0, dot);
    const table = dot < 0 ? '*' : pattern.slice(dot + 1);
    if (db.includes('*')) unverified.push(pattern);
    else if (table === '*' || table.includes('*')) {
      if (!onDb(db)) missing.add(`${quoteName(db)}.*`);
    } else if (!onTable(db, table)) missing.add(`${quoteName(db)}.${quoteName(table)}`);
  }
  return {
    missing: [...missing],
    ...(unverified.length > 0
      ? {
          warning: `SELECT cannot be checked for ${unverified.join(', ')}: GRANT SELECT on every schema they match`,
        }
      : {}),
  };
}

function objectOf(g: Grant): string {
  if (g.database === '*') return '*.*';
  return `${quoteName(g.database)}.${g.table === '*' ? '*' : quoteName(g.table)}`;
}

/**
 * Privileges beyond what capture needs: anything but the replication privileges and SELECT (USAGE
 * means none), `WITH GRANT OPTION`, and a global SELECT when `include` names the schemas (it also
 * reads the `mysql` schema, password hashes included).
 */
export function excessPrivileges(
  grants: readonly Grant[],
  required: readonly string[],
  include: readonly string[],
): ObjectPrivileges[] {
  const namedSchemas = include.length > 0 && include.every((p) => !p.split('.')[0]!.includes('*'));
  const out: ObjectPrivileges[] = [];
  for (const g of grants) {
    const global = g.database === '*';
    const extra = g.privileges.filter((p) => {
      if (p === 'USAGE') return false;
      if (p === 'SELECT') return global && namedSchemas;
      return !(global && required.some((r) => p !== 'ALL PRIVILEGES' && holds([p], r)));
    });
    if (extra.length > 0 || g.grantOption)
      out.push({ object: objectOf(g), privileges: extra, grantOption: g.grantOption });
  }
  return out;
}

/** `GRANT SELECT ON <object> TO <account>;` for each object. */
export function grantSelectStatements(objects: readonly string[], account: string): string[] {
  return objects.map((o) => `GRANT SELECT ON ${o} TO ${account};`);
}

/**
 * The REVOKE statements that take `excess` away. Revoking `ALL PRIVILEGES` takes the needed ones
 * too, so they are granted again after it: `globalNeeds` on `*.*`, SELECT on a database or table.
 */
export function revokeStatements(
  excess: readonly ObjectPrivileges[],
  globalNeeds: readonly string[],
  account: string,
): string[] {
  const out: string[] = [];
  for (const e of excess) {
    if (e.privileges.length > 0)
      out.push(`REVOKE ${e.privileges.join(', ')} ON ${e.object} FROM ${account};`);
    if (e.grantOption) out.push(`REVOKE GRANT OPTION ON ${e.object} FROM ${account};`);
    if (e.privileges.includes('ALL PRIVILEGES')) {
      const regrant = e.object === '*.*' ? globalNeeds : ['SELECT'];
      out.push(`GRANT ${regrant.join(', ')} ON ${e.object} TO ${account};`);
    }
  }
  return out;
}
