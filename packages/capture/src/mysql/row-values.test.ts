import { describe, expect, it } from 'vitest';
import {
  bitString,
  ColumnType,
  normalizeValue,
  parseJsonExact,
  shortestFloat32,
  timestampString,
  type ColumnSpec,
} from './row-values.js';

const col = (type: number, extra: Partial<ColumnSpec> = {}): ColumnSpec => ({
  name: 'c',
  type,
  json: false,
  ...extra,
});
const BLOB = 252;
const VARCHAR = 15;

describe('normalizeValue', () => {
  it('keeps NULL as null', () => {
    expect(normalizeValue(col(ColumnType.LONG), null)).toBeNull();
    expect(normalizeValue(col(BLOB), null)).toBeNull();
  });

  it('gives BIGINT and DECIMAL as strings, small or not', () => {
    expect(normalizeValue(col(ColumnType.LONGLONG), 5)).toBe('5');
    expect(normalizeValue(col(ColumnType.LONGLONG), '18446744073709551615')).toBe('18446744073709551615');
    expect(normalizeValue(col(ColumnType.NEWDECIMAL), '-1.500')).toBe('-1.500');
  });

  it('keeps smaller integers and doubles as numbers', () => {
    expect(normalizeValue(col(ColumnType.LONG), -2147483648)).toBe(-2147483648);
    expect(normalizeValue(col(ColumnType.DOUBLE), 2.718281828459045)).toBe(2.718281828459045);
  });

  it('prints FLOAT as its shortest float32 decimal', () => {
    expect(normalizeValue(col(ColumnType.FLOAT), Math.fround(3.14))).toBe(3.14);
    expect(shortestFloat32(Math.fround(1e-7))).toBe(1e-7);
    expect(shortestFloat32(Math.fround(16777217))).toBe(16777216);
  });

  it('renders TIMESTAMP as RFC 3339 UTC with the declared digits, DATETIME untouched', () => {
    expect(normalizeValue(col(ColumnType.TIMESTAMP2), '2038-01-19 03:14:07.999999')).toBe(
      '2038-01-19T03:14:07.999999Z',
    );
    expect(timestampString('1970-01-01 00:00:01')).toBe('1970-01-01T00:00:01Z');
    expect(timestampString('0000-00-00 00:00:00')).toBe('0000-00-00 00:00:00');
    expect(normalizeValue(col(ColumnType.DATETIME2), '2024-02-29 23:59:59.120')).toBe(
      '2024-02-29 23:59:59.120',
    );
  });

  it('encodes binary as base64 and leaves text alone', () => {
    expect(normalizeValue(col(BLOB), Buffer.from([0xff, 0xfe, 0x00, 0xc3]))).toBe('//4Aww==');
    expect(normalizeValue(col(VARCHAR), 'héllo 😀')).toBe('héllo 😀');
  });

  it('maps ENUM to its string, the invalid index to "", SET to an array', () => {
    expect(normalizeValue(col(ColumnType.ENUM), 'b')).toBe('b');
    expect(normalizeValue(col(ColumnType.ENUM), undefined)).toBe('');
    expect(normalizeValue(col(ColumnType.SET), 'x,z')).toEqual(['x', 'z']);
    expect(normalizeValue(col(ColumnType.SET), '')).toEqual([]);
  });

  it('maps BIT(n) to n binary digits', () => {
    expect(normalizeValue(col(ColumnType.BIT, { bits: 10 }), Buffer.from([0x02, 0xaa]))).toBe('1010101010');
    expect(bitString(Buffer.from([0x01]), 1)).toBe('1');
    expect(bitString(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 64)).toBe('1'.repeat(64));
  });

  it('maps YEAR 0000 (zongji: 1900) back to 0', () => {
    expect(normalizeValue(col(ColumnType.YEAR), 1900)).toBe(0);
    expect(normalizeValue(col(ColumnType.YEAR), 2155)).toBe(2155);
  });

  it('parses MariaDB JSON text, keeping big integers exact', () => {
    const json = col(BLOB, { json: true });
    expect(normalizeValue(json, '{"a": [1, 2.5, "x", null, true, 12345678901234567890]}')).toEqual({
      a: [1, 2.5, 'x', null, true, '12345678901234567890'],
    });
    expect(normalizeValue(json, '"12345678901234567890 \\" 9"')).toBe('12345678901234567890 " 9');
    expect(parseJsonExact('[9007199254740991, -90071992547409910, 1.5e300]')).toEqual([
      9007199254740991,
      '-90071992547409910',
      1.5e300,
    ]);
    expect(parseJsonExact('not json')).toBe('not json');
  });

  it('passes MySQL binary JSON through as zongji decoded it', () => {
    expect(normalizeValue(col(ColumnType.JSON), '123')).toBe('123');
    expect(normalizeValue(col(ColumnType.JSON), { a: 1 })).toEqual({ a: 1 });
  });
});
