/**
 * Turns the values zongji decodes into the JSON values of a CDC event (docs/events.md, "Values").
 * Pure: no I/O, no clock. The rule is "no precision loss, one JSON type per column type".
 */
import { decodeMysqlJson } from './mysql-json.js';

/** Binlog column type codes (MySQL `enum_field_types`) that need a specific mapping. */
export const ColumnType = {
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
} as const;

/** What {@link normalizeValue} needs to know about a column. */
export interface ColumnSpec {
  readonly name: string;
  /** Binlog type code from the TableMap (`ENUM`/`SET` already resolved from their STRING wrapper). */
  readonly type: number;
  /** Declared width of a BIT column, in bits. */
  readonly bits?: number;
  /**
   * True for a text column holding JSON: a MariaDB LONGTEXT carrying a `json_valid()` check (MariaDB's
   * JSON is an alias, with no type of its own on the wire; see tables/table-catalog.ts). MySQL's real JSON
   * type is recognised by its type code and needs no flag.
   */
  readonly json: boolean;
}

/** Maps one decoded value to its event value; `null` and `undefined` (absent) become `null`. */
export function normalizeValue(col: ColumnSpec, value: unknown): unknown {
  if (value === null || value === undefined) {
    // zongji yields undefined for the "invalid" ENUM index 0, stored when strict mode is off; MySQL
    // itself shows it as ''.
    return col.type === ColumnType.ENUM && value === undefined ? '' : null;
  }
  switch (col.type) {
    case ColumnType.JSON:
      // MySQL binary JSON, handed over as stored bytes (see mysql-json.ts).
      return Buffer.isBuffer(value) ? decodeMysqlJson(value) : value;
    case ColumnType.LONGLONG:
    case ColumnType.NEWDECIMAL:
      // Always strings, even when small, so a consumer never sees one column switch JSON types.
      return String(value);
    case ColumnType.FLOAT:
      return shortestFloat32(value as number);
    case ColumnType.YEAR:
      // zongji adds 1900 to the stored byte; YEAR's zero value 0000 is stored as 0, and 1900 is not a
      // legal YEAR, so 1900 can only mean 0000.
      return value === 1900 ? 0 : value;
    case ColumnType.TIMESTAMP:
    case ColumnType.TIMESTAMP2:
      return timestampString(value as string);
    case ColumnType.SET:
      // SET members cannot contain commas (MySQL forbids it), so splitting is exact.
      return value === '' ? [] : (value as string).split(',');
    case ColumnType.BIT:
      return bitString(value as Buffer, col.bits ?? (value as Buffer).length * 8);
    default:
      break;
  }
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (col.json && typeof value === 'string') return parseJsonExact(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/**
 * The shortest decimal that reads back as the same float32. zongji widens FLOAT to a double
 * (3.14 → 3.140000104904175); MySQL prints the float32's shortest form, and so do we.
 */
export function shortestFloat32(v: number): number {
  if (!Number.isFinite(v)) return v;
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(v.toPrecision(p));
    if (Math.fround(candidate) === v) return candidate;
  }
  return v;
}

/**
 * TIMESTAMP is an instant: zongji renders it in UTC (`timezone: 'Z'` on the connection) as
 * `YYYY-MM-DD HH:MM:SS[.f]`; events carry it as RFC 3339, `YYYY-MM-DDTHH:MM:SS[.f]Z`, keeping the
 * declared fractional digits. The zero timestamp has no instant and stays `0000-00-00 00:00:00`.
 */
export function timestampString(s: string): string {
  if (s.startsWith('0000-00-00')) return s;
  return `${s.slice(0, 10)}T${s.slice(11)}Z`;
}

/** BIT(n) as a string of n binary digits, most significant first: b'0101' in BIT(4) → `"0101"`. */
export function bitString(buf: Buffer, bits: number): string {
  let s = '';
  for (const byte of buf) s += byte.toString(2).padStart(8, '0');
  return s.slice(Math.max(0, s.length - bits)).padStart(bits, '0');
}

const UNSAFE_INT = /^-?\d{16,}$/;

/**
 * Parses JSON text keeping integers beyond 2^53 exact, as strings: the same shape zongji gives for
 * MySQL's binary JSON. Text that is not JSON (a json_valid check added after the row was written)
 * is returned unchanged rather than dropped.
 */
export function parseJsonExact(text: string): unknown {
  try {
    return JSON.parse(quoteBigIntegers(text));
  } catch {
    return text;
  }
}

// Wraps integer literals of 16+ digits (outside strings) in quotes when they are not safe integers.
function quoteBigIntegers(text: string): string {
  if (!/\d{16}/.test(text)) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (ch === '-' || (ch >= '0' && ch <= '9')) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400))!;
      const tok = m[0];
      out += UNSAFE_INT.test(tok) && !Number.isSafeInteger(Number(tok)) ? `"${tok}"` : tok;
      i += Math.max(tok.length, 1);
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}
