/**
 * A small MySQL/MariaDB lexer: enough to read the head of a DDL statement (keywords, possibly
 * qualified and quoted names) and to find string literals for redaction. It never fails: text it cannot
 * make sense of becomes single-character punctuation. Pure.
 */

/** One token; `start`/`end` are offsets into the statement text. */
export interface SqlToken {
  /** `word`: unquoted keyword or name; `ident`: backquoted name; `string`: quoted literal. */
  readonly type: 'word' | 'ident' | 'string' | 'punct';
  /** Unquoted, unescaped text (for `string`: the literal's content). */
  readonly value: string;
  /** The quote character of a `string`: `'`, or `"` (an identifier under ANSI_QUOTES). */
  readonly quote?: "'" | '"';
  readonly start: number;
  readonly end: number;
}

const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;
// `/*!50100 …*/` and `/*M!100301 …*/` hold SQL the server executes: their content is lexed.
const EXECUTABLE = /^\/\*M?!\d{0,6}/;

/** Tokenizes `sql` lazily, skipping whitespace and comments. */
export function* sqlTokens(sql: string): Generator<SqlToken, void, undefined> {
  let i = 0;
  let executable = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '#' || (c === '-' && sql[i + 1] === '-' && /\s/.test(sql[i + 2] ?? '\n'))) {
      const eol = sql.indexOf('\n', i);
      i = eol < 0 ? n : eol + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const marker = EXECUTABLE.exec(sql.slice(i, i + 12));
      if (marker !== null) {
        executable++;
        i += marker[0].length;
      } else {
        const close = sql.indexOf('*/', i + 2);
        i = close < 0 ? n : close + 2;
      }
    } else if (c === '*' && sql[i + 1] === '/' && executable > 0) {
      executable--;
      i += 2;
    } else if (c === '`') {
      const { text, end } = quoted(sql, i, '`', false);
      yield { type: 'ident', value: text, start: i, end };
      i = end;
    } else if (c === "'" || c === '"') {
      const { text, end } = quoted(sql, i, c, true);
      yield { type: 'string', value: text, quote: c, start: i, end };
      i = end;
    } else if (WORD.test(c)) {
      let j = i + 1;
      while (j < n && WORD.test(sql[j]!)) j++;
      yield { type: 'word', value: sql.slice(i, j), start: i, end: j };
      i = j;
    } else {
      yield { type: 'punct', value: c, start: i, end: i + 1 };
      i++;
    }
  }
}

// Reads a quoted token starting at `start`; a doubled quote stands for one, and in string literals a
// backslash escapes the next character. An unterminated token runs to the end of the text.
function quoted(sql: string, start: number, q: string, backslash: boolean): { text: string; end: number } {
  let text = '';
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (backslash && c === '\\' && i + 1 < sql.length) {
      text += sql[i + 1];
      i += 2;
    } else if (c === q && sql[i + 1] === q) {
      text += q;
      i += 2;
    } else if (c === q) {
      return { text, end: i + 1 };
    } else {
      text += c;
      i++;
    }
  }
  return { text, end: sql.length };
}

/** The text placed where a secret literal was. */
export const REDACTED = "'<redacted>'";

// A string literal right after one of these keywords (an optional `=` or `(` between) is a credential:
// FEDERATED/CONNECT `CONNECTION='mysql://user:pw@host/…'`, CONNECT `OPTION_LIST='…password=…'`,
// `PASSWORD 'x'` / `PASSWORD('x')`, `IDENTIFIED BY 'x'`, `IDENTIFIED VIA plugin USING 'x'`.
const SECRET_BEFORE = new Set(['CONNECTION', 'OPTION_LIST', 'PASSWORD', 'IDENTIFIED', 'USING']);

/**
 * `sql` with every credential-bearing string literal replaced by {@link REDACTED}: the values of
 * `CONNECTION`, `OPTION_LIST` and `PASSWORD` options and of `IDENTIFIED BY|USING|AS` clauses.
 */
export function redactSecrets(sql: string): string {
  const cuts: { start: number; end: number }[] = [];
  let armed = 0; // tokens left in which a literal counts as a secret
  for (const t of sqlTokens(sql)) {
    if (t.type === 'string' && armed > 0) {
      cuts.push(t);
      armed = 0;
    } else if (t.type === 'word' && SECRET_BEFORE.has(t.value.toUpperCase())) {
      // `IDENTIFIED VIA ed25519 USING PASSWORD('x')` and `IDENTIFIED BY PASSWORD '*hash'` put a few
      // tokens between the keyword and the literal.
      armed = 4;
    } else if (armed > 0) {
      armed--;
    }
  }
  return splice(sql, cuts, REDACTED);
}

/** `sql` with every string literal replaced by `'?'`, cut to `maxChars` characters: safe for a log line. */
export function maskLiterals(sql: string, maxChars = 200): string {
  const cuts = [...sqlTokens(sql)].filter((t) => t.type === 'string');
  const masked = splice(sql, cuts, "'?'").replace(/\s+/g, ' ').trim();
  return masked.length > maxChars ? `${masked.slice(0, maxChars)}…` : masked;
}

function splice(sql: string, cuts: readonly { start: number; end: number }[], by: string): string {
  let out = '';
  let at = 0;
  for (const c of cuts) {
    out += sql.slice(at, c.start) + by;
    at = c.end;
  }
  return out + sql.slice(at);
}
