import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiKeyStore, buildConfig, hashApiKey, openApiKeys, parseApiKey } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../src/main.js';
import { makeTempDir, removeTempDir, startNats, type TestNats } from '@sluice/test-harness';

// `sluice keys create | ls | revoke` against a real nats-server: the key is printed once, only its
// hash is stored, and nothing but `create` ever prints a key or a hash.

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function withCli(
  nats: TestNats,
  body: (sluice: (...args: string[]) => Promise<Run>) => Promise<void>,
): Promise<void> {
  const dir = await makeTempDir('keys');
  try {
    const file = join(dir, 'sluice.yaml');
    await writeFile(file, stringify({ nats: { url: nats.url } }));
    await body(async (...args) => {
      let out = '';
      let err = '';
      const code = await main([...args, '--config', file], {
        env: {},
        out: (line) => (out += `${line}\n`),
        err: (line) => (err += `${line}\n`),
      });
      return { code, out, err };
    });
  } finally {
    await removeTempDir(dir);
  }
}

describe('sluice keys', () => {
  it('creates, lists and revokes keys; the key is shown once and stored hashed', async () => {
    await using nats = await startNats();
    await withCli(nats, async (sluice) => {
      const created = await sluice('keys', 'create', '--scope', 'ingest', '--name', 'billing service');
      expect(created.code).toBe(0);
      const key = created.out.trim();
      const parsed = parseApiKey(key);
      expect(parsed, created.out).toBeDefined();
      expect(created.err).toContain(parsed!.id);
      expect(created.err).not.toContain(key);

      const nc = await nats.connect();
      const config = buildConfig(stringify({ nats: { url: nats.url } }), {});
      const kv = await openApiKeys(nc, config.nats);
      const raw = (await kv.get(parsed!.id))!.string();
      expect(raw).not.toContain(parsed!.secret);
      expect(JSON.parse(raw)).toMatchObject({ id: parsed!.id, scope: 'ingest', hash: hashApiKey(key) });

      const json = await sluice('keys', 'create', '--scope', 'read', '--json');
      const readKey = JSON.parse(json.out) as { id: string; scope: string; key: string };
      expect(readKey.scope).toBe('read');
      expect(parseApiKey(readKey.key)?.id).toBe(readKey.id);

      const ls = await sluice('keys');
      expect(ls.code).toBe(0);
      expect(ls.out.split('\n')[0]).toMatch(/^ID\s+SCOPE\s+NAME\s+CREATED\s+REVOKED$/);
      expect(ls.out).toContain(parsed!.id);
      expect(ls.out).toContain('billing service');
      expect(ls.out).not.toMatch(/slk_|[0-9a-f]{64}/);

      const revoked = await sluice('keys', 'revoke', parsed!.id);
      expect(revoked.code).toBe(0);
      expect(revoked.out).toContain(`API key ${parsed!.id} revoked`);
      const listed = JSON.parse((await sluice('keys', 'ls', '--json')).out) as Record<string, unknown>[];
      expect(listed).toHaveLength(2);
      expect(listed.find((k) => k.id === parsed!.id)!.revokedAt).toEqual(expect.any(String));
      expect(JSON.stringify(listed)).not.toMatch(/slk_|"hash"/);
      expect((await new ApiKeyStore(kv).get(parsed!.id))?.revokedAt).toBeDefined();
    });
  });

  it('refuses a missing or unknown scope (exit 2) and an unknown id (exit 1, with its code)', async () => {
    await using nats = await startNats();
    await withCli(nats, async (sluice) => {
      const noScope = await sluice('keys', 'create');
      expect(noScope.code).toBe(2);
      expect(noScope.err).toContain('--scope');
      const badScope = await sluice('keys', 'create', '--scope', 'root');
      expect(badScope.code).toBe(2);
      expect(badScope.err).toContain('unknown scope "root"');
      const stray = await sluice('keys', 'ls', '--scope', 'read');
      expect(stray.code).toBe(2);
      const unknown = await sluice('keys', 'revoke', 'aaaaaaaaaa');
      expect(unknown.code).toBe(1);
      expect(unknown.err).toContain('SLUICE_API_KEY_NOT_FOUND');
      expect((await sluice('keys')).out).toContain('no API keys');
    });
  });
});
