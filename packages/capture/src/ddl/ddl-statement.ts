import { sqlTokens, type SqlToken } from '../mysql/sql-lexer.js';

/** What a DDL statement does. */
export type DdlKind = 'create' | 'alter' | 'drop' | 'rename' | 'truncate';

/** What a DDL statement acts on. */
export type DdlObject =
  | 'table'
  | 'view'
  | 'index'
  | 'sequence'
  | 'database'
  | 'trigger'
  | 'procedure'
  | 'function'
  | 'event'
  | 'package';

/** A possibly qualified name from a statement; `database` is absent when the statement left it out. */
export interface SqlName {
  readonly database?: string;
  readonly name: string;
}

/** How capture treats one `query` event of the binlog, from {@link classifyStatement}. */
export type StatementClass =
  /** BEGIN, COMMIT, ROLLBACK, XA …, SAVEPOINT: transaction structure, handled by the boundaries. */
  | { readonly category: 'transaction' }
  /** Accounts and credentials (CREATE USER, GRANT, SET PASSWORD, …): never published, never logged. */
  | { readonly category: 'account' }
  /** ANALYZE, OPTIMIZE, REPAIR, CHECK, FLUSH, temporary tables: no lasting schema or row change. */
  | { readonly category: 'maintenance' }
  | {
      readonly category: 'ddl';
      readonly kind: DdlKind;
      readonly object: DdlObject;
      /** Tables (and views, sequences) named, in statement order: both sides of a RENAME. */
      readonly tables: readonly SqlName[];
      /** The database of a database-level statement, or of a routine, trigger, event or package. */
      readonly database?: string;
    }
  /**
   * INSERT, REPLACE, UPDATE, DELETE (and WITH … before one) written as SQL text: a session logged with
   * `binlog_format=STATEMENT` or `MIXED`, so the binlog holds no row events for it (statement-dml.ts).
   */
  | {
      readonly category: 'dml';
      readonly verb: string;
      /**
       * Every table the statement may change: its target, and for multi-table UPDATE and DELETE every
       * table it names (aliases included). `undefined` when the statement's shape hides them.
       */
      readonly tables: readonly SqlName[] | undefined;
    }
  /** Anything else: reported with `SLUICE_DDL_UNRECOGNISED`. */
  | { readonly category: 'unrecognised' };

const TRANSACTION = new Set(['BEGIN', 'COMMIT', 'ROLLBACK', 'XA', 'SAVEPOINT', 'RELEASE', 'START']);
const MAINTENANCE = new Set(['ANALYZE', 'OPTIMIZE', 'REPAIR', 'CHECK', 'FLUSH', 'CHECKSUM']);
const ACCOUNT_OBJECTS = new Set(['USER', 'ROLE', 'SERVER']);
const TABLE_OBJECTS: Partial<Record<string, DdlObject>> = {
  TABLE: 'table',
  TABLES: 'table',
  VIEW: 'view',
  SEQUENCE: 'sequence',
};
const NAMED_OBJECTS: Partial<Record<string, DdlObject>> = {
  PROCEDURE: 'procedure',
  FUNCTION: 'function',
  EVENT: 'event',
  PACKAGE: 'package',
  TRIGGER: 'trigger',
};
// Words between CREATE/ALTER/DROP and the object keyword that change nothing about what is named.
const MODIFIERS = new Set([
  'OR',
  'REPLACE',
  'TEMPORARY',
  'ONLINE',
  'OFFLINE',
  'IGNORE',
  'UNIQUE',
  'FULLTEXT',
  'SPATIAL',
  'AGGREGATE',
  'NONBLOCKING',
]);
const DATABASE_OPTIONS = new Set(['CHARACTER', 'CHARSET', 'COLLATE', 'DEFAULT', 'COMMENT']);
const UNRECOGNISED = { category: 'unrecognised' } as const;
const DML = new Set(['INSERT', 'REPLACE', 'UPDATE', 'DELETE', 'WITH', 'LOAD']);
// Words between the DML verb and its table (list) that name nothing.
const DML_MODIFIERS = new Set([
  'LOW_PRIORITY',
  'DELAYED',
  'HIGH_PRIORITY',
  'IGNORE',
  'QUICK',
  'INTO',
  'HISTORY',
]);
// Where a table reference may follow in the table list of UPDATE and DELETE.
const TABLE_POSITION = new Set(['FROM', 'USING', 'JOIN', 'STRAIGHT_JOIN']);
// Where the table list of UPDATE and DELETE ends.
const TABLES_END = new Set(['SET', 'WHERE', 'ORDER', 'LIMIT', 'RETURNING', 'FOR']);

class Cursor {
  readonly #tokens: Iterator<SqlToken>;
  #peeked: SqlToken | undefined;
  /** Set by {@link skipPreamble} when it skipped TEMPORARY. */
  temporary = false;

  constructor(sql: string) {
    this.#tokens = sqlTokens(sql);
  }

  peek(): SqlToken | undefined {
    this.#peeked ??= this.#tokens.next().value ?? undefined;
    return this.#peeked;
  }

  next(): SqlToken | undefined {
    const t = this.peek();
    this.#peeked = undefined;
    return t;
  }

  /** The next token's keyword (upper case) when it is an unquoted word, else `undefined`. */
  word(): string | undefined {
    const t = this.peek();
    return t?.type === 'word' ? t.value.toUpperCase() : undefined;
  }

  accept(...words: string[]): string | undefined {
    const w = this.word();
    if (w === undefined || !words.includes(w)) return undefined;
    this.next();
    return w;
  }

  punct(p: string): boolean {
    if (this.peek()?.type !== 'punct' || this.peek()?.value !== p) return false;
    this.next();
    return true;
  }

  /** `IF [NOT] EXISTS`, when present. */
  ifExists(): void {
    if (this.accept('IF') === undefined) return;
    this.accept('NOT');
    this.accept('EXISTS');
  }

  /** One possibly qualified name, or `undefined` when the next token cannot start one. */
  name(): SqlName | undefined {
    const first = this.#part();
    if (first === undefined) return undefined;
    if (!this.punct('.')) return { name: first };
    const second = this.#part();
    return second === undefined ? undefined : { database: first, name: second };
  }

  #part(): string | undefined {
    const t = this.peek();
    const ok = t?.type === 'word' || t?.type === 'ident' || (t?.type === 'string' && t.quote === '"');
    if (!ok) return undefined;
    this.next();
    return t.value;
  }

  /** Skips `DEFINER = user[@host]`, `ALGORITHM = x`, `SQL SECURITY x` and modifier words. */
  skipPreamble(): void {
    for (let guard = 0; guard < 16; guard++) {
      const w = this.word();
      if (w === 'DEFINER' || w === 'ALGORITHM') {
        this.next();
        this.punct('=');
        this.next(); // user, CURRENT_USER or algorithm
        if (this.punct('(')) this.punct(')');
        if (this.punct('@')) this.next();
      } else if (w === 'SQL') {
        this.next();
        this.accept('SECURITY');
        this.next();
      } else if (w !== undefined && MODIFIERS.has(w)) {
        if (w === 'TEMPORARY') this.temporary = true;
        this.next();
      } else {
        return;
      }
    }
  }
}

/**
 * Classifies the statement of a binlog `query` event. Only the head of the statement is read: the
 * verb, the object and the names it acts on. Bounded work whatever the statement's length.
 */
export function classifyStatement(sql: string): StatementClass {
  return classify(new Cursor(sql), 0);
}

function classify(c: Cursor, depth: number): StatementClass {
  const verb = c.word();
  if (verb === undefined) return UNRECOGNISED;
  c.next();
  if (TRANSACTION.has(verb)) return { category: 'transaction' };
  if (MAINTENANCE.has(verb)) return { category: 'maintenance' };
  if (verb === 'GRANT' || verb === 'REVOKE') return { category: 'account' };
  if (verb === 'SET') {
    if (c.accept('PASSWORD', 'DEFAULT') !== undefined) return { category: 'account' };
    // MariaDB `SET STATEMENT var = value, … FOR <statement>` is binlogged as written.
    if (c.accept('STATEMENT') === undefined || depth > 0) return UNRECOGNISED;
    for (let guard = 0; guard < 256 && c.peek() !== undefined; guard++) {
      if (c.accept('FOR') !== undefined) return classify(c, depth + 1);
      c.next();
    }
    return UNRECOGNISED;
  }
  if (DML.has(verb)) return dmlStatement(c, verb);
  if (verb === 'TRUNCATE') {
    c.accept('TABLE');
    return tablesStatement('truncate', 'table', [c.name()]);
  }
  if (verb === 'CREATE' || verb === 'ALTER' || verb === 'DROP' || verb === 'RENAME') {
    c.skipPreamble();
    // Session-private tables: nothing another connection (or a consumer) could see changes.
    if (c.temporary) return { category: 'maintenance' };
    const kind = verb.toLowerCase() as DdlKind;
    const object = c.word();
    if (object === undefined) return UNRECOGNISED;
    c.next();
    if (ACCOUNT_OBJECTS.has(object)) return { category: 'account' };
    return objectStatement(c, kind, object);
  }
  return UNRECOGNISED;
}

function objectStatement(c: Cursor, kind: DdlKind, object: string): StatementClass {
  c.ifExists();
  const table = TABLE_OBJECTS[object];
  if (table !== undefined) return tablesStatement(kind, table, nameList(c, kind === 'rename'));
  if (object === 'DATABASE' || object === 'SCHEMA') {
    // `ALTER DATABASE CHARACTER SET …` names no database: it alters the default one.
    const db = c.word() !== undefined && DATABASE_OPTIONS.has(c.word()!) ? undefined : c.name();
    if (db?.database !== undefined) return UNRECOGNISED;
    return { category: 'ddl', kind, object: 'database', tables: [], ...(db ? { database: db.name } : {}) };
  }
  if (object === 'INDEX') {
    c.name(); // the index
    for (let guard = 0; guard < 8 && c.accept('ON') === undefined; guard++) c.next(); // USING BTREE …
    return tablesStatement(kind, 'index', [c.name()]);
  }
  const named = NAMED_OBJECTS[object];
  if (named === undefined) return UNRECOGNISED;
  c.accept('BODY'); // PACKAGE BODY
  c.ifExists();
  const name = c.name();
  if (name === undefined) return UNRECOGNISED;
  const tables: SqlName[] = [];
  if (named === 'trigger' && kind === 'create') {
    // CREATE TRIGGER t {BEFORE|AFTER} {INSERT|UPDATE|DELETE} ON tbl
    for (let guard = 0; guard < 4 && c.accept('ON') === undefined; guard++) c.next();
    const on = c.name();
    if (on !== undefined) tables.push({ database: on.database ?? name.database, name: on.name });
  }
  return {
    category: 'ddl',
    kind,
    object: named,
    tables,
    ...(name.database !== undefined ? { database: name.database } : {}),
  };
}

// `a, b, c` — or, for RENAME, `a TO b, c TO d` (both sides returned). Bounded by MAX_NAMES.
const MAX_NAMES = 256;
function nameList(c: Cursor, pairs: boolean): (SqlName | undefined)[] {
  const names: (SqlName | undefined)[] = [];
  for (;;) {
    names.push(c.name());
    if (pairs && c.accept('TO') !== undefined) names.push(c.name());
    if (names.length >= MAX_NAMES || !c.punct(',')) return names;
  }
}

function tablesStatement(kind: DdlKind, object: DdlObject, names: (SqlName | undefined)[]): StatementClass {
  const tables = names.filter((n): n is SqlName => n !== undefined);
  if (tables.length === 0) return UNRECOGNISED;
  return { category: 'ddl', kind, object, tables };
}

function dmlStatement(c: Cursor, verb: string): StatementClass {
  // WITH … and LOAD DATA: the changed table is not at the head of the statement.
  if (verb === 'WITH' || verb === 'LOAD') return { category: 'dml', verb, tables: undefined };
  while (c.word() !== undefined && DML_MODIFIERS.has(c.word()!)) c.next();
  if (verb === 'INSERT' || verb === 'REPLACE') {
    const target = c.name();
    return { category: 'dml', verb, tables: target === undefined ? undefined : [target] };
  }
  const tables = tableReferences(c);
  return { category: 'dml', verb, tables: tables.length > 0 ? tables : undefined };
}

// The names in table position of an UPDATE or DELETE table list, up to SET / WHERE / …: first, after
// `,`, FROM, USING and JOIN; join conditions and derived tables (parentheses) are stepped over. A
// superset of the changed tables (`DELETE a FROM t a` gives `a` and `t`). Bounded by MAX_NAMES.
function tableReferences(c: Cursor): SqlName[] {
  const names: SqlName[] = [];
  let tablePosition = true;
  for (let guard = 0; guard < 4 * MAX_NAMES && c.peek() !== undefined; guard++) {
    const w = c.word();
    if (w !== undefined && TABLES_END.has(w)) break;
    if (w !== undefined && TABLE_POSITION.has(w)) {
      c.next();
      tablePosition = true;
    } else if (c.punct(',')) {
      tablePosition = true;
    } else if (c.punct('(')) {
      skipParentheses(c);
      tablePosition = false;
    } else if (tablePosition) {
      const name = c.name();
      if (name === undefined) c.next();
      else if (names.push(name) >= MAX_NAMES) break;
      tablePosition = false;
    } else {
      c.next(); // alias, index hint, ON condition, join keyword
    }
  }
  return names;
}

function skipParentheses(c: Cursor): void {
  let depth = 1;
  for (let guard = 0; guard < 100_000 && depth > 0 && c.peek() !== undefined; guard++) {
    if (c.punct('(')) depth++;
    else if (c.punct(')')) depth--;
    else c.next();
  }
}
