import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { makeTempDir, removeTempDir, trackPid, untrackPid } from './leftovers.js';
import { waitFor } from './wait.js';

/** The built `sluice` binary (tests run after `turbo run build`). */
export const SLUICE_BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

/** A `sluice` child process, from {@link spawnSluice}. */
export interface SluiceProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process ended. */
  readonly exited: Promise<number | string>;
  /** Waits until stdout or stderr contains `text`. */
  waitForOutput(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL, for crash tests. */
  kill(): Promise<void>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<number | string>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link spawnSluice}. */
export interface SpawnSluiceOptions {
  /** Configuration written to a temporary YAML file and passed with `--config`. */
  readonly config?: Record<string, unknown>;
  /** Extra environment (merged over a copy of process.env without SLUICE_* variables). */
  readonly env?: Record<string, string>;
}

/** How long a stop waits after SIGTERM before SIGKILL, ms. */
const STOP_GRACE_MS = 30_000;

/** Runs `node packages/cli/dist/bin.js <args…>` as a child process with its own config file. */
export async function spawnSluice(
  args: readonly string[],
  options: SpawnSluiceOptions = {},
): Promise<SluiceProcess> {
  const dir = await makeTempDir('sluice');
  const argv = [...args];
  if (options.config) {
    const file = join(dir, 'sluice.yaml');
    await writeFile(file, stringify(options.config));
    argv.push('--config', file);
  }
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SLUICE_')));
  const child = spawn(process.execPath, [SLUICE_BIN, ...argv], {
    env: { ...env, ...options.env },
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) trackPid(child.pid);
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      if (child.pid !== undefined) untrackPid(child.pid);
      resolve(code ?? signal ?? -1);
    }),
  );
  const ended = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const stop = async (): Promise<number | string> => {
    if (ended()) return exited;
    child.kill('SIGTERM');
    // A child that ignores SIGTERM (stuck) must not hang the test's teardown: its failure then shows
    // as the signal in the exit status instead of a test timeout.
    const escalate = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    try {
      return await exited;
    } finally {
      clearTimeout(escalate);
    }
  };
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput: (text, timeoutMs = 30_000) =>
      waitFor(
        () => {
          const all = out + err;
          if (typeof text === 'string' ? all.includes(text) : text.test(all)) return true;
          if (ended())
            throw new Error(
              `sluice exited (${child.exitCode ?? child.signalCode}) before printing ${String(text)}:\n${err.slice(-4000)}`,
            );
          return false;
        },
        { timeoutMs, message: `sluice output ${String(text)}\n--- stderr ---\n${err.slice(-4000)}` },
      ),
    kill: async () => {
      if (!ended()) child.kill('SIGKILL');
      await exited;
    },
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      await removeTempDir(dir);
    },
  };
}
