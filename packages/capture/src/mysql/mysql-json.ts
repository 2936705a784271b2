/**
 * MySQL's binary JSON (the JSON column type of MySQL 5.7+; MariaDB's JSON is text), decoded into
 * event values (docs/events.md, "Values"): the document as MySQL prints it, numbers a double cannot
 * hold exactly as strings.
 *
 * sluice decodes it itself because zongji's decoder (0.9) gets MySQL 8 documents wrong: a DECIMAL
 * inside a document (`JSON_OBJECT('price', 12.50)`, `JSON_SET(doc, '$.total', 9.99)`) comes out as a
 * string instead of a number, and a TIMESTAMP, BLOB, BIT or any other opaque scalar throws, which would
 * stop capture. {@link rawMysqlJson} makes zongji hand over the stored bytes instead.
 *
 * Format (MySQL `json_binary.h`): a type byte, then the value. Objects and arrays hold a count and a
 * byte size (16-bit in small containers, 32-bit in large ones), key entries (offset, 16-bit length),
 * value entries (type, then an offset from the container's start or the value itself when it fits:
 * literals and 16-bit integers always, 32-bit integers in large containers), keys, values. Strings
 * and opaque data are prefixed by a length of 7 bits per byte, low group first.
 */
import type { TableMapEvent } from '@vlasky/zongji';

const SMALL_OBJECT = 0;
const LARGE_OBJECT = 1;
const SMALL_ARRAY = 2;
const LARGE_ARRAY = 3;
const LITERAL = 4;
const INT16 = 5;
const UINT16 = 6;
const INT32 = 7;
const UINT32 = 8;
const INT64 = 9;
const UINT64 = 10;
const DOUBLE = 11;
const STRING = 12;
const OPAQUE = 15;

/** MySQL field types with a text form inside JSON. */
const FIELD_TIMESTAMP = 7;
const FIELD_DATE = 10;
const FIELD_TIME = 11;
const FIELD_DATETIME = 12;
const FIELD_NEWDECIMAL = 246;

const JSON_TYPE = 245;
const BLOB_TYPE = 252;

/**
 * Makes zongji read the JSON columns of a MySQL TableMap as raw bytes (a BLOB of the same length
 * width), so the rows that follow reach {@link decodeMysqlJson}. Call after the table's shape was
 * recorded from the event: the shape keeps the JSON type; zongji rebuilds the columns on the next
 * TableMap.
 */
export function rawMysqlJson(ev: TableMapEvent): void {
  for (const c of ev.tableMap[ev.tableId]?.columns ?? []) {
    if (c.type !== JSON_TYPE) continue;
    c.type = BLOB_TYPE;
    c.charset = null;
  }
}

/**
 * Decodes one stored value. An empty value (what MySQL stores for a NOT NULL JSON column given no value
 * in non-strict mode) reads as JSON null, as the server reads it.
 * @throws Error for bytes that are not binary JSON.
 */
export function decodeMysqlJson(b: Buffer): unknown {
  if (b.length === 0) return null;
  return value(b, b[0]!, 1, b.length);
}

function corrupt(what: string): Error {
  return new Error(`corrupt MySQL binary JSON: ${what}`);
}

// The value of `type` whose data starts at `at` and must end by `end`.
function value(b: Buffer, type: number, at: number, end: number): unknown {
  const need = (n: number): void => {
    if (at + n > end) throw corrupt(`type ${type} at ${at} runs past its container`);
  };
  switch (type) {
    case SMALL_OBJECT:
    case LARGE_OBJECT:
    case SMALL_ARRAY:
    case LARGE_ARRAY:
      return container(b, type, at, end);
    case LITERAL:
      need(1);
      if (b[at]! > 2) throw corrupt(`literal ${b[at]}`);
      return [null, true, false][b[at]!];
    case INT16:
      need(2);
      return b.readInt16LE(at);
    case UINT16:
      need(2);
      return b.readUInt16LE(at);
    case INT32:
      need(4);
      return b.readInt32LE(at);
    case UINT32:
      need(4);
      return b.readUInt32LE(at);
    case INT64:
      need(8);
      return exactInteger(b.readBigInt64LE(at));
    case UINT64:
      need(8);
      return exactInteger(b.readBigUInt64LE(at));
    case DOUBLE:
      need(8);
      return b.readDoubleLE(at);
    case STRING: {
      const [length, start] = varLength(b, at, end);
      if (start + length > end) throw corrupt('string runs past its container');
      return b.toString('utf8', start, start + length);
    }
    case OPAQUE: {
      need(1);
      const [length, start] = varLength(b, at + 1, end);
      if (start + length > end) throw corrupt('opaque value runs past its container');
      return opaque(b[at]!, b.subarray(start, start + length));
    }
    default:
      throw corrupt(`unknown type ${type}`);
  }
}

function container(b: Buffer, type: number, at: number, end: number): unknown {
  const large = type === LARGE_OBJECT || type === LARGE_ARRAY;
  const isObject = type === SMALL_OBJECT || type === LARGE_OBJECT;
  const w = large ? 4 : 2;
  const read = (pos: number): number => (large ? b.readUInt32LE(pos) : b.readUInt16LE(pos));
  if (at + 2 * w > end) throw corrupt('container header runs past its end');
  const count = read(at);
  const size = read(at + w);
  const limit = at + size;
  const entries = at + 2 * w + (isObject ? count * (w + 2) : 0);
  if (limit > end || entries + count * (1 + w) > limit) throw corrupt('container larger than its space');
  const valueAt = (i: number): unknown => {
    const entry = entries + i * (1 + w);
    const t = b[entry]!;
    const inlined = t === LITERAL || t === INT16 || t === UINT16 || (large && (t === INT32 || t === UINT32));
    return inlined ? value(b, t, entry + 1, entry + 1 + w) : value(b, t, at + read(entry + 1), limit);
  };
  if (!isObject) return Array.from({ length: count }, (_, i) => valueAt(i));
  const out: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const keyEntry = at + 2 * w + i * (w + 2);
    const keyAt = at + read(keyEntry);
    const keyLength = b.readUInt16LE(keyEntry + w);
    if (keyAt + keyLength > limit) throw corrupt('key runs past its container');
    out[b.toString('utf8', keyAt, keyAt + keyLength)] = valueAt(i);
  }
  return out;
}

// A length of 7 bits per byte, least significant group first; high bit set = more bytes follow.
function varLength(b: Buffer, at: number, end: number): [number, number] {
  let length = 0;
  for (let i = 0; i < 5; i++) {
    if (at + i >= end) break;
    const byte = b[at + i]!;
    length += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return [length, at + i + 1];
  }
  throw corrupt('bad length');
}

function exactInteger(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v.toString();
}

// Scalars of other MySQL types, in the text MySQL prints for them inside JSON.
function opaque(fieldType: number, data: Buffer): unknown {
  switch (fieldType) {
    case FIELD_NEWDECIMAL: {
      if (data.length < 2) throw corrupt('DECIMAL without precision and scale');
      return decimalNumber(decimalText(data.subarray(2), data[0]!, data[1]!));
    }
    case FIELD_DATETIME:
    case FIELD_TIMESTAMP:
      return dateTimeText(packed(data), true);
    case FIELD_DATE:
      return dateTimeText(packed(data), false);
    case FIELD_TIME:
      return timeText(packed(data));
    default:
      // As MySQL prints opaque values (e.g. a BLOB cast to JSON): the field type and the bytes.
      return `base64:type${fieldType}:${data.toString('base64')}`;
  }
}

function packed(data: Buffer): bigint {
  if (data.length < 8) throw corrupt('temporal value shorter than 8 bytes');
  return data.readBigInt64LE(0);
}

const pad = (n: bigint | number, width: number): string => String(n).padStart(width, '0');

// Packed DATETIME: ((ymd << 17 | hms) << 24) + µs, ymd = (year * 13 + month) << 5 | day.
function dateTimeText(v: bigint, withTime: boolean): string {
  const p = v < 0n ? -v : v;
  const micro = p & 0xffffffn;
  const ymdhms = p >> 24n;
  const ymd = ymdhms >> 17n;
  const hms = ymdhms & 0x1ffffn;
  const ym = ymd >> 5n;
  const date = `${pad(ym / 13n, 4)}-${pad(ym % 13n, 2)}-${pad(ymd & 31n, 2)}`;
  if (!withTime) return date;
  return `${date} ${pad(hms >> 12n, 2)}:${pad((hms >> 6n) & 63n, 2)}:${pad(hms & 63n, 2)}.${pad(micro, 6)}`;
}

// Packed TIME: ±((hour << 12 | minute << 6 | second) << 24) + µs).
function timeText(v: bigint): string {
  const p = v < 0n ? -v : v;
  const hms = p >> 24n;
  const hour = (hms >> 12n) & 0x3ffn;
  return `${v < 0n ? '-' : ''}${pad(hour, 2)}:${pad((hms >> 6n) & 63n, 2)}:${pad(hms & 63n, 2)}.${pad(p & 0xffffffn, 6)}`;
}

const DIG2BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/** MySQL's binary DECIMAL (`bin2decimal`) as text with exactly `scale` fraction digits. */
export function decimalText(bin: Buffer, precision: number, scale: number): string {
  const intg = precision - scale;
  const sizes = (digits: number, leadingPartial: boolean): number[] => {
    const partial = DIG2BYTES[digits % 9]!;
    const full: number[] = Array.from({ length: Math.floor(digits / 9) }, () => 4);
    if (partial === 0) return full;
    return leadingPartial ? [partial, ...full] : [...full, partial];
  };
  const intSizes = sizes(intg, true);
  const fracSizes = sizes(scale, false);
  const total = [...intSizes, ...fracSizes].reduce((a, n) => a + n, 0);
  if (bin.length < total) throw corrupt(`DECIMAL(${precision},${scale}) needs ${total} bytes`);
  const bytes = Buffer.from(bin.subarray(0, total));
  const negative = (bytes[0]! & 0x80) === 0;
  bytes[0]! ^= 0x80;
  if (negative) for (let i = 0; i < bytes.length; i++) bytes[i] = ~bytes[i]! & 0xff;
  let at = 0;
  const group = (size: number, digits: number): string => {
    const s = pad(bytes.readUIntBE(at, size), digits);
    at += size;
    return s;
  };
  let int = '';
  intSizes.forEach((size, i) => (int += group(size, i === 0 && intg % 9 !== 0 ? intg % 9 : 9)));
  let frac = '';
  fracSizes.forEach(
    (size, i) => (frac += group(size, i === fracSizes.length - 1 && scale % 9 !== 0 ? scale % 9 : 9)),
  );
  int = int.replace(/^0+(?=\d)/, '') || '0';
  return `${negative ? '-' : ''}${int}${scale > 0 ? `.${frac}` : ''}`;
}

/**
 * A DECIMAL inside JSON is a number in MySQL's output; it stays one here when a double holds it
 * exactly (its shortest form names the same decimal), and becomes the exact string otherwise — the
 * same rule as for integers beyond ±2^53.
 */
export function decimalNumber(text: string): number | string {
  const n = Number(text);
  if (n === 0) return 0;
  return Number.isFinite(n) && plainDecimal(String(n)) === canonical(text) ? n : text;
}

// "-012.3400" → "-12.34"; "-0.00" → "0".
function canonical(text: string): string {
  const negative = text.startsWith('-');
  let [int = '', frac = ''] = text.replace(/^[-+]/, '').split('.');
  int = int.replace(/^0+(?=\d)/, '') || '0';
  frac = frac.replace(/0+$/, '');
  const body = frac === '' ? int : `${int}.${frac}`;
  return negative && body !== '0' ? `-${body}` : body;
}

// String(number) without exponent: "1.5e-7" → "0.00000015", "1e+21" → "1000000000000000000000".
function plainDecimal(s: string): string {
  const m = /^(-?)(\d)(?:\.(\d+))?e([-+]\d+)$/.exec(s);
  if (!m) return canonical(s);
  const digits = m[2]! + (m[3] ?? '');
  const point = 1 + Number(m[4]);
  const body =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return canonical(m[1] + body);
}
