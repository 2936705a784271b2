import { describe, expect, it } from 'vitest';
import type { TableMapEvent } from '@vlasky/zongji';
import { decimalNumber, decimalText, decodeMysqlJson, rawMysqlJson } from './mysql-json.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const u64 = (v: bigint): string => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return b.toString('hex');
};

describe('decodeMysqlJson', () => {
  it('reads a small object: key entries, value entries, keys, then values', () => {
    // {"key1": "value1", "key2": "value2"}: count 2, size 40, keys at 18 and 22, strings at 26 and 33.
    const doc = Buffer.concat([
      hex('00 0200 2800 1200 0400 1600 0400 0c 1a00 0c 2100'),
      Buffer.from('key1key2\x06value1\x06value2', 'latin1'),
    ]);
    expect(decodeMysqlJson(doc)).toEqual({ key1: 'value1', key2: 'value2' });
  });

  it('reads literals and 16-bit integers inlined in the value entries', () => {
    // [null, true, false, -2]: count 4, size 4 + 4 * 3.
    expect(decodeMysqlJson(hex('02 0400 1000 040000 040100 040200 05feff'))).toEqual([null, true, false, -2]);
  });

  it('reads a 32-bit integer by offset in a small array and inlined in a large one', () => {
    expect(decodeMysqlJson(hex('02 0100 0b00 07 0700 c063ffff'))).toEqual([-40000]);
    expect(decodeMysqlJson(hex('03 01000000 0d000000 07 a0860100'))).toEqual([100000]);
  });

  it('keeps 64-bit integers exact: numbers within ±2^53, strings beyond', () => {
    const arr = (t: string, v: bigint) => hex(`02 0100 0f00 ${t} 0700 ${u64(v)}`);
    expect(decodeMysqlJson(arr('09', -9007199254740993n))).toEqual(['-9007199254740993']);
    expect(decodeMysqlJson(arr('0a', 18446744073709551615n))).toEqual(['18446744073709551615']);
    expect(decodeMysqlJson(arr('09', 42n))).toEqual([42]);
  });

  it('reads doubles and strings with a multi-byte length', () => {
    const d = Buffer.alloc(8);
    d.writeDoubleLE(3.14159);
    expect(decodeMysqlJson(Buffer.concat([hex('0b'), d]))).toBe(3.14159);
    // 200 bytes: length 0xc8 = 0b1_1001000 → 0xc8 0x01 (low 7 bits first, high bit = more).
    expect(decodeMysqlJson(Buffer.concat([hex('0c c801'), Buffer.from('x'.repeat(200))]))).toBe(
      'x'.repeat(200),
    );
  });

  it('prints a DECIMAL as MySQL does: a number, or the exact string when a double cannot hold it', () => {
    // Opaque: field type 246, length 4, precision 4, scale 2, then 12.50 in binary (0x8c 0x32).
    expect(decodeMysqlJson(hex('0f f6 04 04 02 8c 32'))).toBe(12.5);
    expect(decodeMysqlJson(hex('0f f6 04 04 02 73 cd'))).toBe(-12.5);
  });

  it('prints temporal scalars as MySQL prints them inside JSON', () => {
    // Packed DATETIME 2024-06-01 12:34:56.789012: ((ymd << 17 | hms) << 24) + µs.
    const ymd = ((2024n * 13n + 6n) << 5n) | 1n;
    const hms = (12n << 12n) | (34n << 6n) | 56n;
    const packed = (((ymd << 17n) | hms) << 24n) + 789012n;
    const opaque = (type: string, v: bigint) => hex(`0f ${type} 08 ${u64(v)}`);
    expect(decodeMysqlJson(opaque('0c', packed))).toBe('2024-06-01 12:34:56.789012');
    expect(decodeMysqlJson(opaque('07', packed))).toBe('2024-06-01 12:34:56.789012');
    expect(decodeMysqlJson(opaque('0a', (ymd << 17n) << 24n))).toBe('2024-06-01');
    const time = (((1n << 12n) | (2n << 6n) | 3n) << 24n) + 500000n;
    expect(decodeMysqlJson(opaque('0b', -time))).toBe('-01:02:03.500000');
  });

  it('prints other opaque scalars as base64 with their MySQL type, like MySQL', () => {
    expect(decodeMysqlJson(hex('0f fc 02 00ff'))).toBe('base64:type252:AP8=');
  });

  it('reads an empty value as null and refuses corrupt ones', () => {
    expect(decodeMysqlJson(Buffer.alloc(0))).toBeNull();
    expect(() => decodeMysqlJson(hex('0e 00'))).toThrow(/unknown type 14/);
    expect(() => decodeMysqlJson(hex('00 0100 ff00'))).toThrow(/corrupt MySQL binary JSON/);
    expect(() => decodeMysqlJson(hex('0c 05 6162'))).toThrow(/string runs past/);
  });
});

describe('decimalText / decimalNumber', () => {
  it('decodes groups of nine digits and leftover digits, negative values inverted', () => {
    // DECIMAL(20,4) -12345678901234.5678: 16 integer digits (7 + 9), 4 fraction digits (2 bytes).
    const positive = hex('00003039 287735f2 162e'); // 0012345 | 678901234 | 5678
    positive[0]! ^= 0x80;
    expect(decimalText(positive, 20, 4)).toBe('12345678901234.5678');
    const negative = Buffer.from(positive.map((b) => ~b & 0xff));
    expect(decimalText(negative, 20, 4)).toBe('-12345678901234.5678');
  });

  it('keeps a number only when its shortest form is the same decimal', () => {
    expect(decimalNumber('12.50')).toBe(12.5);
    expect(decimalNumber('0.00000015')).toBe(1.5e-7);
    expect(decimalNumber('-0.00')).toBe(0);
    expect(decimalNumber('123456789012345678.90')).toBe('123456789012345678.90');
    expect(decimalNumber('0.1000000000000000055511151231257827')).toBe(
      '0.1000000000000000055511151231257827',
    );
  });
});

describe('rawMysqlJson', () => {
  it('turns JSON columns into raw BLOBs for zongji and leaves the others', () => {
    const columns = [
      { name: 'id', type: 3, charset: null, metadata: {} },
      { name: 'doc', type: 245, charset: null, metadata: { length_size: 4 } },
    ];
    const ev = {
      tableId: 7,
      tableMap: { 7: { columnSchemas: [], parentSchema: 'db', tableName: 't', columns } },
    };
    rawMysqlJson(ev as unknown as TableMapEvent);
    expect(columns.map((c) => c.type)).toEqual([3, 252]);
  });
});
