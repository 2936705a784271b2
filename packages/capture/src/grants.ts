/**
 * Reading `SHOW GRANTS` output: which global privileges (`ON *.*`) an account holds. Only global
 * grants count for replication; schema- and table-level grants cannot confer them.
 */

/** Global privileges found in `SHOW GRANTS` lines, upper-case (`REPLICATION SLAVE`, `ALL PRIVILEGES`, …). */
export function globalPrivileges(grantLines: readonly string[]): Set<string> {
  const privileges = new Set<string>();
  for (const line of grantLines) {
    // `GRANT <privs> ON <object> TO <user> …`; role grants (`GRANT role TO user`) have no ON and are
    // skipped: their privileges show up only when the role is active (see docs/events.md, preflight).
    const m = /^GRANT\s+(.+?)\s+ON\s+(\S+)\s+TO\s/i.exec(line.trim());
    if (!m || m[2] !== '*.*') continue;
    for (const p of splitPrivileges(m[1]!)) privileges.add(p);
  }
  return privileges;
}

// Column lists (`SELECT (a, b)`) contain commas; they never appear on *.* grants but are skipped
// correctly anyway by splitting only at depth 0.
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
    .filter((p) => p !== '');
}

/** The privileges a binlog reader needs on this server flavour. */
export function requiredReplicationPrivileges(isMariaDb: boolean, version: string): string[] {
  // MariaDB 10.5 split BINLOG MONITOR out of REPLICATION CLIENT (which became an alias for it);
  // SHOW BINARY LOGS, which zongji runs for startAtEnd, needs it.
  const major = versionNumber(version);
  if (isMariaDb && major >= 100500) return ['REPLICATION SLAVE', 'BINLOG MONITOR'];
  return ['REPLICATION SLAVE', 'REPLICATION CLIENT'];
}

/**
 * The required privileges missing from `held`. `ALL PRIVILEGES` on `*.*` covers everything;
 * `REPLICATION REPLICA` (MySQL 8.0.22+, MariaDB 10.5.1+) is the new name of `REPLICATION SLAVE`.
 */
export function missingPrivileges(held: ReadonlySet<string>, required: readonly string[]): string[] {
  if (held.has('ALL PRIVILEGES') || held.has('ALL')) return [];
  const aliases: Record<string, string[]> = {
    'REPLICATION SLAVE': ['REPLICATION SLAVE', 'REPLICATION REPLICA'],
    'BINLOG MONITOR': ['BINLOG MONITOR', 'REPLICATION CLIENT'],
    'REPLICATION CLIENT': ['REPLICATION CLIENT', 'BINLOG MONITOR'],
  };
  return required.filter((p) => !(aliases[p] ?? [p]).some((a) => held.has(a)));
}

/** `10.11.19-MariaDB-0+deb12u1` → 101119; `8.0.36` → 80036. */
export function versionNumber(version: string): number {
  const [a = 0, b = 0, c = 0] = version
    .split(/[.-]/)
    .slice(0, 3)
    .map((x) => Number.parseInt(x, 10) || 0);
  return a * 10_000 + b * 100 + c;
}
