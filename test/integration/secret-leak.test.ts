import { describe, expect, it } from 'vitest';
import { findSecretLeak, spawnSluice } from '@sluice/test-harness';

// The harness check that makes every test spawning sluice a secret-leak test: a child whose logs (or
// whose stdout, for the long-running roles) hold a whsec_, whsk_ or slk_ secret fails its test.

const WHSEC = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const WHSK = `whsk_${Buffer.alloc(32, 8).toString('base64')}`;
const SLK = `slk_abcdefghij_${Buffer.alloc(32, 9).toString('base64url')}`;

describe('findSecretLeak', () => {
  it.each([WHSEC, WHSK, SLK])('finds %s in the stderr of any command', (secret) => {
    for (const args of [['deliverer'], ['dlq', 'ls'], ['keys', 'create'], ['endpoints', 'secret', 'x']]) {
      const leak = findSecretLeak(args, '', `{"level":30,"msg":"oops ${secret}"}\n`);
      expect(leak).toBeDefined();
      // The report names the prefix, never the secret.
      expect(leak).not.toContain(secret.slice(6, 20));
    }
  });

  it('finds a secret on the stdout of the long-running roles', () => {
    for (const role of ['up', 'api', 'capture', 'router', 'deliverer'])
      expect(findSecretLeak([role, '--config', 'x.yaml'], `banner ${WHSEC}`, '')).toBeDefined();
  });

  it('lets the commands that print secrets print them on stdout', () => {
    expect(
      findSecretLeak(['keys', 'create', '--scope', 'ingest'], `${SLK}\n`, 'id abcdefghij\n'),
    ).toBeUndefined();
    expect(findSecretLeak(['endpoints', 'secret', 'billing'], `v1 ${WHSEC}\n`, '')).toBeUndefined();
    expect(findSecretLeak(['endpoints', 'rotate-secret', 'billing'], `${WHSEC}\n`, '')).toBeUndefined();
  });

  it('does not mistake the schema message quoting the secret pattern for a secret', () => {
    const message =
      "  - /endpoints/0/secret: Expected string to match '^whsec_[A-Za-z0-9+/]+={0,2}$' [format]";
    expect(findSecretLeak(['router'], '', message)).toBeUndefined();
  });
});

describe('spawnSluice', () => {
  it('fails a child that writes a secret to stderr: exited and disposal reject', async () => {
    // An unknown command is echoed in the usage error: a stand-in for a log line with a secret.
    const p = await spawnSluice([WHSEC]);
    await expect(p.exited).rejects.toThrow(/secret leak: .*whsec_/);
    await expect(p[Symbol.asyncDispose]()).rejects.toThrow(/secret leak/);
    expect(p.stderr()).toContain('SLUICE_USAGE');
  });

  it('passes a child whose output holds no secret', async () => {
    await using p = await spawnSluice(['--help']);
    expect(await p.exited).toBe(0);
  });
});
