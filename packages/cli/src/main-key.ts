import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MainKey, SluiceError, type Config } from '@sluice/core';
import { needsMainKey } from '@sluice/deliverer';

// The main key seals the signing secrets sluice manages (docs/signing.md#the-main-key). Only the cli
// reads the environment: it resolves the key here and hands it to the deliverer as a MainKey.

/** The environment variable holding the main key: the base64 of 32 random bytes. */
export const MAIN_KEY_ENV = 'SLUICE_MAIN_KEY';

const MAKE_ONE = 'openssl rand -base64 32';

/** Options of {@link resolveMainKey}. */
export interface ResolveMainKeyOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly config: Config;
  /** Whether this process needs the key: it signs for, or manages the secrets of, some endpoint. */
  readonly needed: boolean;
  /**
   * What to do without the variable, besides failing: `create` makes (or reuses)
   * `<embedded.dataDir>/main.key` — `sluice up` on its own embedded NATS server, whose secrets live in
   * the same directory; `read` uses that file when it exists (the admin commands next to such a
   * `sluice up`); `none` fails.
   */
  readonly fallback: 'create' | 'read' | 'none';
  /** Where the warning about a key file goes (stderr). */
  readonly warn: (line: string) => void;
}

/**
 * The main key from `SLUICE_MAIN_KEY`, checked whenever it is set; without it, the key file per
 * `fallback` when the key is needed, or `undefined` when it is not.
 * @throws SluiceError `SLUICE_MAIN_KEY_INVALID`, `SLUICE_MAIN_KEY_MISSING`
 */
export async function resolveMainKey(o: ResolveMainKeyOptions): Promise<MainKey | undefined> {
  const value = o.env[MAIN_KEY_ENV];
  if (value !== undefined) return MainKey.fromBase64(value, MAIN_KEY_ENV);
  if (!o.needed) return undefined;
  const file = mainKeyFile(o.config);
  if (o.fallback === 'create') {
    const { key, created } = await keyFile(file);
    o.warn(
      `warning: ${MAIN_KEY_ENV} is not set: ${created ? 'created' : 'using'} ${file} to seal signing ` +
        `secrets on this machine; production sets ${MAIN_KEY_ENV} (docs/signing.md)`,
    );
    return key;
  }
  if (o.fallback === 'read') {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      o.warn(`warning: ${MAIN_KEY_ENV} is not set: using ${file}`);
      return MainKey.fromBase64(text, file);
    }
  }
  throw new SluiceError(
    'SLUICE_MAIN_KEY_MISSING',
    `${MAIN_KEY_ENV} is not set, and signing secrets managed by sluice are sealed with it ` +
      '(an endpoint without a secret in the configuration, or with signing v1a/both). ' +
      `Make one once with "${MAKE_ONE}", keep it in your secret store, and give the same value to ` +
      'every deliverer and to the CLI; secrets sealed with it cannot be read without it.',
  );
}

/** Whether a process running `roles` needs the main key for `config`. */
export function rolesNeedMainKey(config: Config, roles: readonly string[]): boolean {
  return roles.includes('deliverer') && needsMainKey(config.endpoints);
}

/** `<embedded.dataDir>/main.key`, absolute. */
export function mainKeyFile(config: Config): string {
  return join(resolve(config.embedded.dataDir), 'main.key');
}

/**
 * Reads the key file, or creates it with mode 0600. Written whole under a temporary name, then
 * hard-linked into place, which fails if the file exists: two processes starting at once end up with
 * one key, and neither can read a half-written file.
 */
async function keyFile(file: string): Promise<{ key: MainKey; created: boolean }> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const key = MainKey.generate();
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${key.toBase64()}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, file);
    return { key, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { key: MainKey.fromBase64(await readFile(file, 'utf8'), file), created: false };
  } finally {
    await unlink(temp);
  }
}
