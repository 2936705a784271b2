import { describe, expect, it } from 'vitest';
import { buildConfig } from './config.js';
import { problemsOf } from './config.fixture.js';
import { redactNatsUrl } from './nats-auth.js';

// The `nats` section's authentication and TLS settings (docs/nats-security.md); connecting with them
// is tested against real servers in test/integration/nats-security.test.ts.

describe('nats authentication settings', () => {
  it('accept each kind alone, and default to no TLS and provisioning on', () => {
    const nats = (yaml: string) => buildConfig(`nats:\n${yaml}`, {}).nats;
    expect(nats('  user: a\n  pass: b\n')).toMatchObject({ user: 'a', pass: 'b' });
    expect(nats('  token: t\n').token).toBe('t');
    expect(nats('  nkeySeedFile: /etc/sluice/user.nk\n').nkeySeedFile).toBe('/etc/sluice/user.nk');
    expect(nats('  credsFile: /etc/sluice/sluice.creds\n').credsFile).toBe('/etc/sluice/sluice.creds');
    expect(nats('  url: nats://h:4222\n')).toMatchObject({
      tls: false,
      tlsHandshakeFirst: false,
      provision: true,
    });
  });

  it('refuse two kinds at once, naming the keys and never a value', () => {
    const problems = problemsOf(
      'nats:\n  user: a\n  pass: hunter2\n  token: s3cret\n  credsFile: /x.creds\n',
    );
    expect(problems.filter((p) => p.kind === 'conflict').map((p) => p.path)).toEqual([
      '/nats/token',
      '/nats/credsFile',
    ]);
    expect(problems[0]!.message).toContain('nats.user/nats.pass, nats.token, nats.credsFile');
    expect(JSON.stringify(problems)).not.toMatch(/hunter2|s3cret/);
  });

  it('refuse a user without a password, a password without a user, and credentials in the URL too', () => {
    expect(problemsOf('nats:\n  user: a\n')).toContainEqual(
      expect.objectContaining({ path: '/nats/pass', kind: 'required' }),
    );
    expect(problemsOf('nats:\n  pass: b\n')).toContainEqual(
      expect.objectContaining({ path: '/nats/user', kind: 'required' }),
    );
    const inUrl = problemsOf('nats:\n  url: nats://a:hunter2@h:4222\n  token: t\n');
    expect(inUrl).toContainEqual(expect.objectContaining({ path: '/nats/url', kind: 'conflict' }));
    expect(JSON.stringify(inUrl)).not.toContain('hunter2');
    // Credentials in the URL alone are the client's business.
    expect(() => buildConfig('nats:\n  url: nats://a:b@h:4222\n', {})).not.toThrow();
  });

  it('want a client certificate and its key together', () => {
    expect(problemsOf('nats:\n  tlsCertFile: /c.pem\n')).toContainEqual(
      expect.objectContaining({ path: '/nats/tlsKeyFile', kind: 'required' }),
    );
    expect(problemsOf('nats:\n  tlsKeyFile: /k.pem\n')).toContainEqual(
      expect.objectContaining({ path: '/nats/tlsCertFile', kind: 'required' }),
    );
    const both = 'nats:\n  tlsCertFile: /c.pem\n  tlsKeyFile: /k.pem\n  tlsCaFile: /ca.pem\n';
    expect(() => buildConfig(both, {})).not.toThrow();
  });

  it('come from the environment', () => {
    const c = buildConfig('', {
      SLUICE_NATS_CREDS_FILE: '/run/secrets/sluice.creds',
      SLUICE_NATS_TLS: 'true',
      SLUICE_NATS_TLS_CA_FILE: '/run/secrets/ca.pem',
      SLUICE_NATS_PROVISION: 'false',
    });
    expect(c.nats).toMatchObject({
      credsFile: '/run/secrets/sluice.creds',
      tls: true,
      tlsCaFile: '/run/secrets/ca.pem',
      provision: false,
    });
  });
});

describe('redactNatsUrl', () => {
  it('cuts credentials from every URL of a list', () => {
    expect(redactNatsUrl('nats://u:p@n1:4222, tls://tok@n2:4222,n3:4222')).toBe(
      'nats://n1:4222,tls://n2:4222,n3:4222',
    );
    expect(redactNatsUrl('nats://[::1]:4222')).toBe('nats://[::1]:4222');
    expect(redactNatsUrl('nats://u:p%40ss@h:4222/path')).toBe('nats://h:4222/path');
  });
});
