import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, parseJsonBody, type JsonBody } from './json-body.js';

function parse(text: string): JsonBody {
  return parseJsonBody(Buffer.from(text, 'utf8'));
}

function dataTexts(text: string): (string | undefined)[] {
  const body = parse(text);
  return body.dataSpans.map((s) => (s === undefined ? undefined : body.text.slice(s.start, s.end)));
}

function refusal(text: string | Buffer): string {
  try {
    parseJsonBody(Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'));
  } catch (err) {
    expect((err as { code: string }).code).toBe('SLUICE_INGEST_INVALID');
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('data spans', () => {
  it.each([
    ['{"data": 12345678901234567890123}', '12345678901234567890123'],
    ['{"a":1,"data":{"x":[1,{"data":2}]},"b":"}"}', '{"x":[1,{"data":2}]}'],
    ['{"data":"a \\" } string"}', '"a \\" } string"'],
    ['{"data":null}', 'null'],
    ['{"data":[ ]}', '[ ]'],
    ['{"d\\u0061ta": true}', 'true'],
    ['{"data":1,"data":{"last":true}}', '{"last":true}'],
    ['{"x":{"data":1}}', undefined],
    ['{"datas":1}', undefined],
  ])('%s → %s', (text, expected) => {
    expect(dataTexts(text)).toEqual([expected]);
  });

  it('gives one entry per element of a root array, in order', () => {
    expect(
      dataTexts('[{"data":1}, {"x":"data"}, "str", 7, [{"data":9}], {"data":{"data":3}}, null, {}]'),
    ).toEqual(['1', undefined, undefined, undefined, undefined, '{"data":3}', undefined, undefined]);
  });

  it('gives nothing for a scalar body', () => {
    expect(dataTexts('"data"')).toEqual([]);
    expect(dataTexts('42')).toEqual([]);
  });
});

describe('refusals', () => {
  it('refuses text that is not JSON', () => {
    expect(refusal('{"a":')).toMatch(/not valid JSON/);
    expect(refusal('')).toMatch(/not valid JSON/);
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(refusal(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]))).toMatch(/UTF-8/);
    expect(refusal(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))).toMatch(/UTF-8/); // a UTF-8 surrogate
  });

  it(`allows ${MAX_JSON_DEPTH} levels and refuses one more`, () => {
    const nest = (n: number): string => '['.repeat(n) + ']'.repeat(n);
    expect(parse(nest(MAX_JSON_DEPTH)).value).toBeDefined();
    expect(refusal(nest(MAX_JSON_DEPTH + 1))).toMatch(/nested deeper/);
    expect(refusal(`{"data":${'{"a":'.repeat(MAX_JSON_DEPTH)}1${'}'.repeat(MAX_JSON_DEPTH)}}`)).toMatch(
      /nested deeper/,
    );
    // A million brackets: refused, not a stack overflow.
    expect(refusal(nest(1_000_000))).toMatch(/nested deeper/);
  });

  it.each([
    '{"__proto__":{"polluted":1}}',
    '{"a":[{"__proto__":1}]}',
    '{"__pro\\u0074o__":{"polluted":1}}',
    '{"constructor":{"prototype":{"polluted":1}}}',
    '[{"data":{"constructor":{"prototype":1}}}]',
  ])('refuses prototype keys: %s', (text) => {
    expect(refusal(text)).toMatch(/refused/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps keys that only look alike', () => {
    expect(parse('{"constructor":"x","prototype":1,"proto":2,"__proto":3}').value).toEqual({
      constructor: 'x',
      prototype: 1,
      proto: 2,
      __proto: 3,
    });
    expect(parse('{"__proto__x":1}').value).toEqual({ __proto__x: 1 });
    expect(parse('{"k":"__proto__"}').value).toEqual({ k: '__proto__' });
  });
});
