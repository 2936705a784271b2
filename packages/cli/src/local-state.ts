import { access, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SluiceError } from '@sluice/core';

/** The default folder of `sluice up`'s embedded servers (`embedded.dataDir`), relative to the cwd. */
export const LOCAL_DIR = '.sluice';
const STATE_FILE = 'state.json';

/**
 * What `sluice up` in embedded mode started, recorded in `.sluice/state.json` so that every admin
 * command run from the same folder finds the same servers without `--config` or `SLUICE_NATS_URL`.
 * The file is mode 0600: it holds the demo receiver's signing secret and the embedded capture user's
 * URL, like the credentials file beside it.
 */
export interface LocalRecord {
  readonly version: 1;
  /** The configuration file `sluice up` ran with (absolute), or undefined for env-only settings. */
  readonly configFile: string | undefined;
  /** The `sluice up` process, while it runs; removed on a clean stop. */
  readonly pid?: number;
  readonly startedAt: string;
  readonly stoppedAt?: string;
  readonly nats?: { readonly url: string; readonly port: number; readonly dataDir: string };
  readonly mariadb?: {
    readonly port: number;
    readonly socket: string;
    readonly dataDir: string;
    readonly captureUrl: string;
  };
  readonly api?: { readonly url: string };
  readonly demo?: { readonly url: string; readonly secret: string };
  /** Set once every source captures, with the position each started from. */
  readonly ready?: { readonly at: string; readonly sources: Readonly<Record<string, string>> };
}

/** A `.sluice` folder and what it records, from {@link readLocalState}. */
export interface LocalState {
  /** The folder, absolute. */
  readonly dir: string;
  /** How commands name it in their output: `./.sluice`. */
  readonly label: string;
  readonly record: LocalRecord;
  /** True while the `sluice up` that wrote the record still runs. */
  readonly running: boolean;
}

/** Path of the state file in an embedded data directory. */
export function localStateFile(dataDir: string): string {
  return join(dataDir, STATE_FILE);
}

/** Reads `<dir>/state.json` (dir: an embedded data directory); undefined when there is none. */
export async function readLocalState(dir: string): Promise<LocalState | undefined> {
  const file = localStateFile(dir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let record: LocalRecord;
  try {
    record = JSON.parse(text) as LocalRecord;
  } catch (cause) {
    throw new SluiceError('SLUICE_CONFIG_INVALID', `${file} is not valid JSON; remove it and run sluice up`, {
      cause,
    });
  }
  return { dir, label: localLabel(dir), record, running: record.pid !== undefined && isAlive(record.pid) };
}

/** Writes the state file atomically (a reader never sees half a file), mode 0600. */
export async function writeLocalState(dataDir: string, record: LocalRecord): Promise<void> {
  const file = localStateFile(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/** True when the state file exists in `dataDir`. */
export async function hasLocalState(dataDir: string): Promise<boolean> {
  return access(localStateFile(dataDir)).then(
    () => true,
    () => false,
  );
}

// `./.sluice` for the folder of the working directory, else the absolute path.
function localLabel(dir: string): string {
  return dir === resolve(LOCAL_DIR) ? `./${LOCAL_DIR}` : dir;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
