import { describe, expect, it } from 'vitest';
import {
  decodeApiKeyRecord,
  encodeApiKeyRecord,
  generateApiKey,
  hashApiKey,
  isApiKeyName,
  keyFromAuthorization,
  keyMatches,
  parseApiKey,
  scopeAllows,
} from './api-keys.js';

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

describe('generateApiKey', () => {
  it('makes slk_<10 base32>_<43 base64url> keys whose record holds only the hash', () => {
    const { key, record } = generateApiKey('ingest', 'billing', NOW);
    expect(key).toMatch(/^slk_[a-z2-7]{10}_[A-Za-z0-9_-]{43}$/);
    expect(parseApiKey(key)).toEqual({ id: record.id, secret: key.slice(15) });
    expect(record).toEqual({
      id: key.slice(4, 14),
      scope: 'ingest',
      name: 'billing',
      hash: hashApiKey(key),
      createdAt: '2026-01-02T03:04:05.000Z',
    });
    expect(JSON.stringify(record)).not.toContain(key.slice(15));
  });

  it('never repeats an id or a secret in a thousand keys', () => {
    const keys = Array.from({ length: 1000 }, () => generateApiKey('read', undefined, NOW));
    expect(new Set(keys.map((k) => k.record.id)).size).toBe(1000);
    expect(new Set(keys.map((k) => k.key)).size).toBe(1000);
    // Every base32 letter shows up somewhere: the id draws from the whole alphabet.
    expect(new Set(keys.flatMap((k) => [...k.record.id])).size).toBe(32);
  });
});

describe('parseApiKey', () => {
  const good = generateApiKey('admin', undefined, NOW).key;
  it.each([
    '',
    'slk_',
    good.replace('slk_', 'slx_'),
    good.slice(0, -1),
    `${good}x`,
    good.toUpperCase(),
    good.replace(/_([^_]*)$/, '.$1'),
    `${good.slice(0, 4)}0${good.slice(5)}`, // 0 is not base32
    ` ${good}`,
  ])('refuses %j', (text) => {
    expect(parseApiKey(text)).toBeUndefined();
  });
});

describe('keyMatches', () => {
  it('accepts the key and refuses any other', () => {
    const a = generateApiKey('ingest', undefined, NOW);
    const b = generateApiKey('ingest', undefined, NOW);
    expect(keyMatches(a.key, a.record)).toBe(true);
    expect(keyMatches(b.key, a.record)).toBe(false);
    expect(keyMatches(`${a.key.slice(0, -1)}A`, a.record)).toBe(false);
  });
});

describe('scopeAllows', () => {
  it('lets admin do everything and the others only their own scope', () => {
    expect(scopeAllows('admin', 'ingest')).toBe(true);
    expect(scopeAllows('admin', 'read')).toBe(true);
    expect(scopeAllows('ingest', 'ingest')).toBe(true);
    expect(scopeAllows('ingest', 'read')).toBe(false);
    expect(scopeAllows('read', 'ingest')).toBe(false);
    expect(scopeAllows('ingest', 'admin')).toBe(false);
    expect(scopeAllows('read', 'admin')).toBe(false);
  });
});

describe('keyFromAuthorization', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['Bearer slk_abc', 'slk_abc'],
    ['bearer   slk_abc  ', 'slk_abc'],
    ['slk_abc', 'slk_abc'],
    ['Basic dXNlcjpwYXNz', undefined],
    ['Bearer a b', undefined],
  ])('%j → %j', (header, key) => {
    expect(keyFromAuthorization(header)).toBe(key);
  });
});

describe('records', () => {
  it('round-trip, and anything malformed decodes as no record', () => {
    const { record } = generateApiKey('read', 'x', NOW);
    expect(decodeApiKeyRecord(encodeApiKeyRecord(record))).toEqual(record);
    const revoked = { ...record, revokedAt: new Date(NOW).toISOString() };
    expect(decodeApiKeyRecord(encodeApiKeyRecord(revoked))).toEqual(revoked);
    const bad = [
      'not json',
      'null',
      '[]',
      JSON.stringify({ ...record, scope: 'root' }),
      JSON.stringify({ ...record, hash: 'abc' }),
      JSON.stringify({ ...record, id: 'UPPERCASE0' }),
      JSON.stringify({ ...record, revokedAt: 1 }),
    ];
    for (const text of bad) expect(decodeApiKeyRecord(Buffer.from(text))).toBeUndefined();
  });

  it('drops unknown fields instead of carrying them along', () => {
    const { record } = generateApiKey('read', undefined, NOW);
    const decoded = decodeApiKeyRecord(Buffer.from(JSON.stringify({ ...record, key: 'slk_leak' })));
    expect(decoded).toEqual(record);
  });
});

describe('isApiKeyName', () => {
  it('takes printable labels of 1–100 characters', () => {
    expect(isApiKeyName('billing service ✓')).toBe(true);
    expect(isApiKeyName('')).toBe(false);
    expect(isApiKeyName('a'.repeat(101))).toBe(false);
    expect(isApiKeyName('a\nb')).toBe(false);
  });
});
