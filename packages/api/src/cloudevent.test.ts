import { describe, expect, it } from 'vitest';
import { ingestEventId } from '@sluice/core';
import { binaryEvent, isJsonMediaType, isRfc3339, structuredEvent } from './cloudevent.js';

const base = { specversion: '1.0', id: 'e-1', source: '/src', type: 'a.b' };

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect((err as { code: string }).code).toBe('SLUICE_INGEST_INVALID');
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('structuredEvent', () => {
  it('derives the id from source and id, keeps the producer id, and partitions by the id', () => {
    const e = structuredEvent({ ...base, data: { x: 1 } }, '{"x":1}', undefined);
    const id = ingestEventId('/src', 'e-1');
    expect(e.attributes).toEqual({ ...base, id, sluiceproducerid: 'e-1' });
    expect(e.dataJson).toBe('{"x":1}');
    expect(e.key).toBe(id);
  });

  it('prefers the Idempotency-Key, then partitionkey over subject for the key', () => {
    const e = structuredEvent({ ...base, subject: 's', partitionkey: 'p' }, undefined, 'idem');
    expect(e.attributes.id).toBe(ingestEventId('/src', 'idem'));
    expect(e.key).toBe('p');
    expect(structuredEvent({ ...base, subject: 's' }, undefined, undefined).key).toBe('s');
  });

  it('treats null attributes and null data as absent', () => {
    const e = structuredEvent({ ...base, subject: null, data: null }, 'null', undefined);
    expect(e.attributes).not.toHaveProperty('subject');
    expect(e.dataJson).toBeUndefined();
  });

  it.each([
    [{ ...base, specversion: 1 }, /specversion/],
    [{ ...base, id: 5 }, /id must be/],
    [{ ...base, source: '' }, /source must be/],
    [{ ...base, type: 'x'.repeat(256) }, /longer than 255/],
    [{ ...base, type: '.a' }, /empty dot-separated/],
    [{ ...base, time: '2026-01-01 00:00:00Z' }, /RFC 3339/],
    [{ ...base, ext: 1.5 }, /32-bit integer/],
    [{ ...base, ext: 2 ** 31 }, /32-bit integer/],
    [{ ...base, ext: { nested: 1 } }, /32-bit integer/],
    [{ ...base, toolongextensionname1: 'x' }, /not valid/],
    [{ ...base, sluiceposition: 'x' }, /reserved/],
    [{ ...base, data_base64: 'not base64!' }, /base64/],
    [{ ...base, partitionkey: '' }, /partitionkey/],
    [[base], /JSON object/],
  ])('refuses %j', (value, message) => {
    expect(refusal(() => structuredEvent(value, undefined, undefined))).toMatch(message);
  });
});

describe('binaryEvent', () => {
  const headers = { 'ce-specversion': '1.0', 'ce-id': 'b-1', 'ce-source': '/s', 'ce-type': 't.u' };

  it('percent-decodes header values and keeps JSON data as text', () => {
    const e = binaryEvent(
      { ...headers, 'ce-subject': '%E2%9C%93 ok', 'content-type': 'application/vnd.x+json' },
      Buffer.from(' [1, 2] '),
      undefined,
    );
    expect(e.attributes.subject).toBe('✓ ok');
    expect(e.attributes.datacontenttype).toBe('application/vnd.x+json');
    expect(e.dataJson).toBe(' [1, 2] ');
  });

  it('stores other bodies as data_base64 and an empty body as no data', () => {
    expect(
      binaryEvent({ ...headers, 'content-type': 'text/plain' }, Buffer.from('hi'), undefined).attributes,
    ).toMatchObject({ data_base64: 'aGk=', datacontenttype: 'text/plain' });
    const empty = binaryEvent(headers, Buffer.alloc(0), undefined);
    expect(empty.attributes).not.toHaveProperty('data_base64');
    expect(empty.dataJson).toBeUndefined();
  });

  it('refuses bad JSON data, non-UTF-8 escapes and ce-datacontenttype', () => {
    const json = { ...headers, 'content-type': 'application/json' };
    expect(refusal(() => binaryEvent(json, Buffer.from('{'), undefined))).toMatch(/JSON/);
    expect(refusal(() => binaryEvent({ ...headers, 'ce-subject': '%FF' }, undefined, undefined))).toMatch(
      /UTF-8/,
    );
    expect(
      refusal(() => binaryEvent({ ...headers, 'ce-datacontenttype': 'x/y' }, undefined, undefined)),
    ).toMatch(/Content-Type/);
  });
});

describe('isRfc3339', () => {
  it.each([
    ['2026-01-02T03:04:05Z', true],
    ['2026-01-02t03:04:05.123456789+05:30', true],
    ['2024-02-29T00:00:00Z', true],
    ['2023-02-29T00:00:00Z', false],
    ['2026-13-01T00:00:00Z', false],
    ['2026-01-01T24:00:00Z', false],
    ['2026-01-01T00:00:00', false],
    ['2026-01-01T00:00:00+25:00', false],
    ['2026-01-01', false],
  ])('%s → %s', (text, ok) => {
    expect(isRfc3339(text)).toBe(ok);
  });
});

describe('isJsonMediaType', () => {
  it('knows JSON media types', () => {
    expect(isJsonMediaType('application/json; charset=utf-8')).toBe(true);
    expect(isJsonMediaType('Application/CloudEvents+JSON')).toBe(true);
    expect(isJsonMediaType('text/json')).toBe(true);
    expect(isJsonMediaType('text/plain')).toBe(false);
    expect(isJsonMediaType(undefined)).toBe(false);
  });
});
