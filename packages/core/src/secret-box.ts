import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { SluiceError } from './errors.js';

// Secrets at rest (docs/signing.md#the-main-key): AES-256-GCM under a 32-byte main key that only the
// environment holds. GCM authenticates as well as encrypts, so a wrong key, a changed byte, or a
// record moved to another endpoint (the associated data differs) is refused instead of yielding
// garbage that would then be used as a signing key.

/** Length of a main key, bytes. */
export const MAIN_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Format version of {@link SealedSecret}: 1 = AES-256-GCM, 96-bit random IV, associated data. */
const SEALED_VERSION = 1;
const FINGERPRINT_LABEL = 'sluice main key fingerprint';

/**
 * One value sealed with a main key, as stored (JSON). `key` names the main key that sealed it, so
 * that a wrong key is reported as such and a future rotation of the main key can tell old records
 * from new ones.
 */
export interface SealedSecret {
  /** Format version; 1 is the only one. */
  readonly v: 1;
  /** Fingerprint of the main key that sealed it ({@link MainKey.id}). */
  readonly key: string;
  /** 12-byte IV, base64. */
  readonly iv: string;
  /** Ciphertext, base64. */
  readonly ct: string;
  /** 16-byte GCM tag, base64. */
  readonly tag: string;
}

/**
 * The main key that seals signing secrets. Holds its bytes privately: serialised or inspected it
 * shows only its fingerprint, so logging one by mistake leaks nothing.
 */
export class MainKey {
  readonly #bytes: Buffer;
  /**
   * Fingerprint: 16 hex characters of HMAC-SHA256(key, a fixed label). Names the key in records and
   * messages; reveals nothing usable about it.
   */
  readonly id: string;

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
    this.id = createHmac('sha256', bytes).update(FINGERPRINT_LABEL).digest('hex').slice(0, 16);
  }

  /**
   * Reads a main key from its base64 text (surrounding whitespace ignored).
   * @param source what the text came from, for the error message (never the value itself).
   * @throws SluiceError `SLUICE_MAIN_KEY_INVALID` unless it is the canonical base64 of exactly 32 bytes.
   */
  static fromBase64(text: string, source = 'SLUICE_MAIN_KEY'): MainKey {
    const t = text.trim();
    const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(t) ? Buffer.from(t, 'base64') : Buffer.alloc(0);
    // Re-encoding catches what Buffer.from silently skips or truncates (stray characters, bad padding).
    if (
      bytes.length !== MAIN_KEY_BYTES ||
      bytes.toString('base64').replace(/=+$/, '') !== t.replace(/=+$/, '')
    )
      throw new SluiceError(
        'SLUICE_MAIN_KEY_INVALID',
        `${source} must be the base64 of exactly ${MAIN_KEY_BYTES} bytes` +
          (bytes.length > 0 ? ` (it decodes to ${bytes.length})` : '') +
          '; make one with: openssl rand -base64 32',
        { details: { source } },
      );
    return new MainKey(bytes);
  }

  /** A new random main key. */
  static generate(): MainKey {
    return new MainKey(randomBytes(MAIN_KEY_BYTES));
  }

  /** The base64 text of the key, for the one place that stores it (`<embedded.dataDir>/main.key`). */
  toBase64(): string {
    return this.#bytes.toString('base64');
  }

  /**
   * Seals `plaintext`, bound to `aad` (associated data: authenticated, not stored): opening it with
   * any other `aad` fails.
   */
  seal(plaintext: Uint8Array, aad: string): SealedSecret {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#bytes, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      v: SEALED_VERSION,
      key: this.id,
      iv: iv.toString('base64'),
      ct: ct.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
    };
  }

  /**
   * Opens what {@link seal} sealed with the same key and `aad`.
   * @param what names the secret in the error message, e.g. `the signing secret of endpoint billing`.
   * @throws SluiceError `SLUICE_SECRET_UNREADABLE` for another main key, another `aad`, or any change.
   */
  open(sealed: SealedSecret, aad: string, what: string): Buffer {
    const refuse = (reason: string, cause?: unknown): SluiceError =>
      new SluiceError('SLUICE_SECRET_UNREADABLE', `cannot decrypt ${what}: ${reason}`, {
        cause,
        details: { sealedWith: sealed.key, mainKey: this.id },
      });
    if (sealed.v !== SEALED_VERSION) throw refuse(`unknown format version ${String(sealed.v)}`);
    if (sealed.key !== this.id)
      throw refuse(
        `it was sealed with main key ${sealed.key}, and SLUICE_MAIN_KEY is main key ${this.id}; ` +
          'start with the main key that sealed it',
      );
    const iv = Buffer.from(sealed.iv, 'base64');
    const tag = Buffer.from(sealed.tag, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw refuse('the record is damaged');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#bytes, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()]);
    } catch (cause) {
      // GCM's tag check failed: the key, the data or the associated data differ from the sealing.
      throw refuse('authentication failed (wrong main key, or the record was changed or moved)', cause);
    }
  }

  /** Serialised (logs, JSON): the fingerprint only. */
  toJSON(): { mainKey: string } {
    return { mainKey: this.id };
  }

  [inspect.custom](): string {
    return `MainKey(${this.id})`;
  }
}

/** True when `v` has the shape of a {@link SealedSecret} (the values are checked by opening it). */
export function isSealedSecret(v: unknown): v is SealedSecret {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    s.v === SEALED_VERSION &&
    typeof s.key === 'string' &&
    typeof s.iv === 'string' &&
    typeof s.ct === 'string' &&
    typeof s.tag === 'string'
  );
}
