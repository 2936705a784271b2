/**
 * Reading `SHOW GRANTS` output (MySQL 8 and MariaDB): which privileges an account holds on which
 * object. Privileges held through roles are not shown by a plain `SHOW GRANTS` and do not count.
 */

/** One `GRANT <privileges> ON <db>.<table> TO …` line. */
export interface Grant {
  /** Upper-case, single-spaced, column lists removed: `SELECT`, `REPLICATION SLAVE`, `ALL PRIVILEGES`. */
  readonly privileges: readonly string[];
  /** Unquoted database name or pattern (`%`, `_` wildcards; `\_` a literal `_`), `*` for every one. */
  readonly database: string;
  /** Unquoted table name, `*` for every table. */
  readonly table: string;
  readonly grantOption: boolean;
}

/**
 * Parses the grant lines that name a database object. Role grants (`GRANT role TO user`), `PROXY`
 * grants and routine grants (`ON PROCEDURE …`) are skipped.
 */
export function parseGrants(grantLines: readonly string[]): Grant[] {
  const out: Grant[] = [];
  for (const line of grantLines) {
    const m = /^GRANT\s+(.+?)\s+ON\s+((?:`(?:[^`]|``)*`|[^\s.`]+)\.(?:`(?:[^`]|``)*`|[^\s.`]+))\s+TO\s/i.exec(
      line.trim(),
    );
    if (!m) continue;
    const [database, table] = splitObject(m[2]!);
    out.push({
      privileges: splitPrivileges(m[1]!),
      database,
      table,
      grantOption: /\sWITH\s+GRANT\s+OPTION\b/i.test(line),
    });
  }
  return out;
}

/** Global privileges (`ON *.*`) found in `SHOW GRANTS` lines. */
export function globalPrivileges(grantLines: readonly string[]): Set<string> {
  return new Set(
    parseGrants(grantLines)
      .filter((g) => g.database === '*' && g.table === '*')
      .flatMap((g) => g.privileges),
  );
}

function splitObject(object: string): [string, string] {
  const parts: string[] = [];
  let i = 0;
  while (i < object.length && parts.length < 2) {
    if (object[i] === '`') {
      let j = i + 1;
      let name = '';
      while (j < object.length) {
        if (object[j] === '`' && object[j + 1] === '`') {
          name += '`';
          j += 2;
        } else if (object[j] === '`') break;
        else name += object[j++];
      }
      parts.push(name);
      i = j + 2; // closing quote and the dot
    } else {
      const dot = object.indexOf('.', i);
      parts.push(dot < 0 ? object.slice(i) : object.slice(i, dot));
      i = dot < 0 ? object.length : dot + 1;
    }
  }
  return [parts[0] ?? '*', parts[1] ?? '*'];
}

// Column lists (`SELECT (a, b)`) contain commas: split only at depth 0.
function splitPrivileges(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of list) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out
    .map((p) =>
      p
        .replace(/\(.*\)/, '')
        .trim()
        .replace(/\s+/g, ' ')
        .toUpperCase(),
    )
    .map((p) => (p === 'ALL' ? 'ALL PRIVILEGES' : p))
    .filter((p) => p !== '');
}

/** The privileges a binlog reader needs on this server flavour (global, `ON *.*`). */
export function requiredReplicationPrivileges(isMariaDb: boolean, version: string): string[] {
  // MariaDB 10.5 split BINLOG MONITOR out of REPLICATION CLIENT (which became an alias for it);
  // SHOW BINARY LOGS, which zongji runs for startAtEnd, needs it.
  if (isMariaDb && versionNumber(version) >= 100500) return ['REPLICATION SLAVE', 'BINLOG MONITOR'];
  return ['REPLICATION SLAVE', 'REPLICATION CLIENT'];
}

/** Names a privilege is also held under: new names (MySQL 8.0.22+, MariaDB 10.5+) and aliases. */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  'REPLICATION SLAVE': ['REPLICATION SLAVE', 'REPLICATION REPLICA'],
  'BINLOG MONITOR': ['BINLOG MONITOR', 'REPLICATION CLIENT'],
  'REPLICATION CLIENT': ['REPLICATION CLIENT', 'BINLOG MONITOR'],
};

/** True when `held` grants `privilege` (directly, by an alias, or through `ALL PRIVILEGES`). */
export function holds(held: ReadonlySet<string> | readonly string[], privilege: string): boolean {
  const set = new Set(held);
  return set.has('ALL PRIVILEGES') || (ALIASES[privilege] ?? [privilege]).some((a) => set.has(a));
}

/** The required privileges missing from `held`. */
export function missingPrivileges(held: ReadonlySet<string>, required: readonly string[]): string[] {
  return required.filter((p) => !holds(held, p));
}

/** `10.11.19-MariaDB-0+deb12u1` → 101119; `8.0.36` → 80036. */
export function versionNumber(version: string): number {
  const [a = 0, b = 0, c = 0] = version
    .split(/[.-]/)
    .slice(0, 3)
    .map((x) => Number.parseInt(x, 10) || 0);
  return a * 10_000 + b * 100 + c;
}
