import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isSluiceError } from './errors.js';
import { MainKey, isSealedSecret, type SealedSecret } from './secret-box.js';
import { codeOf } from './config.fixture.js';

const KEY_B64 = Buffer.alloc(32, 7).toString('base64');
const SECRET = Buffer.from('0123456789abcdef0123456789abcdef');
const AAD = 'sluice:billing:whsec';

/** Flips one bit of a base64 field. */
function flip(b64: string, byte = 0): string {
  const b = Buffer.from(b64, 'base64');
  b[byte] = b[byte]! ^ 1;
  return b.toString('base64');
}

describe('MainKey.fromBase64', () => {
  it('accepts the base64 of 32 bytes, with or without padding and surrounding whitespace', () => {
    const a = MainKey.fromBase64(KEY_B64);
    expect(MainKey.fromBase64(`  ${KEY_B64}\n`).id).toBe(a.id);
    expect(MainKey.fromBase64(KEY_B64.replace(/=+$/, '')).id).toBe(a.id);
    expect(a.id).toMatch(/^[0-9a-f]{16}$/);
    expect(MainKey.generate().id).not.toBe(a.id);
  });

  it.each([
    ['empty', ''],
    ['16 bytes', Buffer.alloc(16, 1).toString('base64')],
    ['33 bytes', Buffer.alloc(33, 1).toString('base64')],
    ['hex of 32 bytes', Buffer.alloc(32, 1).toString('hex')],
    ['base64url characters', Buffer.alloc(32, 0xfb).toString('base64url')],
    ['a stray character', `${KEY_B64.slice(0, 10)}!${KEY_B64.slice(11)}`],
    ['non-canonical last character', `${KEY_B64.slice(0, 42)}H=`],
  ])('refuses %s with SLUICE_MAIN_KEY_INVALID, never echoing the value', (_, text) => {
    expect(codeOf(() => MainKey.fromBase64(text))).toBe('SLUICE_MAIN_KEY_INVALID');
    try {
      MainKey.fromBase64(text, 'SLUICE_MAIN_KEY');
    } catch (err) {
      expect((err as Error).message).toContain('openssl rand -base64 32');
      if (text.length > 4) expect((err as Error).message).not.toContain(text);
    }
  });

  it('round-trips through toBase64', () => {
    const k = MainKey.generate();
    expect(MainKey.fromBase64(k.toBase64()).id).toBe(k.id);
  });

  it('shows only its fingerprint when serialised or inspected', () => {
    const k = MainKey.fromBase64(KEY_B64);
    expect(JSON.stringify({ k })).toBe(`{"k":{"mainKey":"${k.id}"}}`);
    expect(inspect(k)).toBe(`MainKey(${k.id})`);
    expect(JSON.stringify(k)).not.toContain(KEY_B64.slice(0, 20));
  });
});

describe('seal / open', () => {
  const key = MainKey.fromBase64(KEY_B64);

  it('round-trips, with a fresh IV every time', () => {
    const a = key.seal(SECRET, AAD);
    const b = key.seal(SECRET, AAD);
    expect(isSealedSecret(a)).toBe(true);
    expect(a.v).toBe(1);
    expect(a.key).toBe(key.id);
    expect(Buffer.from(a.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(a.tag, 'base64')).toHaveLength(16);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ct).not.toBe(b.ct);
    expect(key.open(a, AAD, 'x').equals(SECRET)).toBe(true);
    expect(key.open(b, AAD, 'x').equals(SECRET)).toBe(true);
  });

  it('stores no plaintext', () => {
    const sealed = JSON.stringify(key.seal(SECRET, AAD));
    expect(sealed).not.toContain(SECRET.toString('base64'));
    expect(sealed).not.toContain(SECRET.toString('utf8'));
  });

  it.each<[string, (s: SealedSecret) => SealedSecret]>([
    ['iv', (s) => ({ ...s, iv: flip(s.iv) })],
    ['tag', (s) => ({ ...s, tag: flip(s.tag, 15) })],
    ['ciphertext', (s) => ({ ...s, ct: flip(s.ct, 3) })],
    [
      'a truncated tag',
      (s) => ({ ...s, tag: Buffer.from(s.tag, 'base64').subarray(0, 12).toString('base64') }),
    ],
    ['the format version', (s) => ({ ...s, v: 2 as unknown as 1 })],
  ])('refuses a record with a tampered %s: SLUICE_SECRET_UNREADABLE', (_, tamper) => {
    const sealed = key.seal(SECRET, AAD);
    expect(codeOf(() => key.open(tamper(sealed), AAD, 'x'))).toBe('SLUICE_SECRET_UNREADABLE');
  });

  it('refuses a record moved to another endpoint or kind (associated data)', () => {
    const sealed = key.seal(SECRET, AAD);
    expect(codeOf(() => key.open(sealed, 'sluice:audit:whsec', 'x'))).toBe('SLUICE_SECRET_UNREADABLE');
    expect(codeOf(() => key.open(sealed, 'sluice:billing:whsk', 'x'))).toBe('SLUICE_SECRET_UNREADABLE');
  });

  it('refuses a wrong main key by its fingerprint, and by GCM when the fingerprint is forged', () => {
    const sealed = key.seal(SECRET, AAD);
    const other = MainKey.generate();
    let message = '';
    try {
      other.open(sealed, AAD, 'the signing secret of endpoint billing');
    } catch (err) {
      expect(isSluiceError(err, 'SLUICE_SECRET_UNREADABLE')).toBe(true);
      message = (err as Error).message;
    }
    expect(message).toContain(key.id);
    expect(message).toContain(other.id);
    expect(message).toContain('endpoint billing');
    // The fingerprint is a hint only: GCM's tag check refuses the wrong key on its own.
    const forged = { ...sealed, key: other.id };
    let gcm: unknown;
    try {
      other.open(forged, AAD, 'x');
    } catch (err) {
      gcm = err;
    }
    expect(isSluiceError(gcm, 'SLUICE_SECRET_UNREADABLE')).toBe(true);
    expect((gcm as Error).message).toMatch(/authentication failed/);
  });
});
