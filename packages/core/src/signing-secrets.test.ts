import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MainKey } from './secret-box.js';
import { ed25519Pkcs8, ed25519PublicKey, openSecretsRecord } from './signing-secrets.js';
import { codeOf } from './config.fixture.js';

const mainKey = MainKey.fromBase64(Buffer.alloc(32, 9).toString('base64'));
const HMAC = Buffer.alloc(32, 0x42);

function keyPair(): { seed: Buffer; publicKey: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    seed: Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'),
    publicKey: Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'),
  };
}

/** A stored record as the store writes it, built by hand from the documented format. */
function record(endpointId: string, over: Record<string, unknown> = {}): Uint8Array {
  const pair = keyPair();
  return Buffer.from(
    JSON.stringify({
      v: 1,
      endpointId,
      hmac: [
        {
          createdAt: '2025-06-01T00:00:00.000Z',
          sealed: mainKey.seal(HMAC, `sluice:${endpointId}:whsec`),
        },
        {
          createdAt: '2025-05-01T00:00:00.000Z',
          expiresAt: '2025-06-02T00:00:00.000Z',
          sealed: mainKey.seal(Buffer.alloc(32, 0x43), `sluice:${endpointId}:whsec`),
        },
      ],
      ed25519: [
        {
          createdAt: '2025-06-01T00:00:00.000Z',
          publicKey: `whpk_${pair.publicKey.toString('base64')}`,
          sealed: mainKey.seal(pair.seed, `sluice:${endpointId}:whsk`),
        },
      ],
      ...over,
    }),
  );
}

describe('ed25519 helpers', () => {
  it('derive the public key node:crypto derives, and a PKCS#8 key that signs verifiably', () => {
    const pair = keyPair();
    expect(ed25519PublicKey(pair.seed).equals(pair.publicKey)).toBe(true);
    const data = Buffer.from('msg_1.1700000000.{}');
    const signature = sign(null, data, { key: ed25519Pkcs8(pair.seed), format: 'der', type: 'pkcs8' });
    const spki = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: pair.publicKey.toString('base64url') },
      format: 'jwk',
    });
    expect(verify(null, data, spki, signature)).toBe(true);
  });
});

describe('openSecretsRecord', () => {
  it('opens every secret, newest first, with its times and whsec_/whsk_/whpk_ forms', () => {
    const s = openSecretsRecord(mainKey, 'billing', record('billing'), 7);
    expect(s.revision).toBe(7);
    expect(s.hmac.map((h) => h.key.equals(HMAC))).toEqual([true, false]);
    expect(s.hmac[0]!.secret).toBe(`whsec_${HMAC.toString('base64')}`);
    expect(s.hmac[0]!.expiresAtMs).toBeUndefined();
    expect(s.hmac[1]!.expiresAtMs).toBe(Date.parse('2025-06-02T00:00:00.000Z'));
    expect(s.ed25519).toHaveLength(1);
    const pair = s.ed25519[0]!;
    expect(pair.privateKey).toBe(`whsk_${pair.seed.toString('base64')}`);
    expect(pair.publicKey).toBe(`whpk_${ed25519PublicKey(pair.seed).toString('base64')}`);
  });

  it('serialises without a secret', () => {
    const s = openSecretsRecord(mainKey, 'billing', record('billing'), 1);
    const json = JSON.stringify({ s });
    expect(json).not.toMatch(/whsec_|whsk_/);
    expect(json).not.toContain(HMAC.toString('base64'));
  });

  it('refuses a record stored under another endpoint id', () => {
    expect(codeOf(() => openSecretsRecord(mainKey, 'audit', record('billing'), 1))).toBe(
      'SLUICE_SECRET_UNREADABLE',
    );
    // …also when the endpoint id inside is rewritten to match: the sealed values are bound to it.
    expect(
      codeOf(() => openSecretsRecord(mainKey, 'audit', record('billing', { endpointId: 'audit' }), 1)),
    ).toBe('SLUICE_SECRET_UNREADABLE');
  });

  it('refuses a public key that does not belong to the sealed private key', () => {
    const other = keyPair();
    const tampered = JSON.parse(Buffer.from(record('billing')).toString()) as {
      ed25519: { publicKey: string }[];
    };
    tampered.ed25519[0]!.publicKey = `whpk_${other.publicKey.toString('base64')}`;
    expect(
      codeOf(() => openSecretsRecord(mainKey, 'billing', Buffer.from(JSON.stringify(tampered)), 1)),
    ).toBe('SLUICE_SECRET_UNREADABLE');
  });

  it.each([
    ['not JSON', Buffer.from('{')],
    ['another format', Buffer.from(JSON.stringify({ v: 2, endpointId: 'billing', hmac: [], ed25519: [] }))],
    [
      'a plaintext secret',
      Buffer.from(
        JSON.stringify({
          v: 1,
          endpointId: 'billing',
          hmac: [{ createdAt: 'x', secret: 'whsec_AAAA' }],
          ed25519: [],
        }),
      ),
    ],
  ])('refuses %s with SLUICE_SECRET_UNREADABLE', (_, bytes) => {
    expect(codeOf(() => openSecretsRecord(mainKey, 'billing', bytes, 1))).toBe('SLUICE_SECRET_UNREADABLE');
  });

  it('refuses every record under another main key', () => {
    expect(codeOf(() => openSecretsRecord(MainKey.generate(), 'billing', record('billing'), 1))).toBe(
      'SLUICE_SECRET_UNREADABLE',
    );
  });
});
