import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
  /**
   * Resolves with the exit code (or signal name) once the process ended; rejects when its output
   * holds a secret ({@link findSecretLeak}), and so do `stop`, `kill` and disposal.
   */
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
  /**
   * Working directory, for commands that share the `.sluice` folder of one `sluice up`.
   * @default a new temporary directory
   */
  readonly cwd?: string;
}

/** How long a stop waits after SIGTERM before SIGKILL, ms. */
const STOP_GRACE_MS = 30_000;
/** How long the output of an exited child is waited for before it is checked, ms. */
const OUTPUT_DRAIN_MS = 2_000;

/** Prefixes of secrets sluice must never write to a log: signing secrets, ed25519 private keys, API keys. */
export const SECRET_PREFIXES = ['whsec_', 'whsk_', 'slk_'] as const;
// A prefix followed by key characters: the schema's own message for a malformed secret quotes its
// pattern, `^whsec_[A-Za-z0-9+/]+`, which names the prefix and holds no secret.
const SECRET_RE = new RegExp(`(${SECRET_PREFIXES.join('|')})[A-Za-z0-9+/_-]{4}`);
/**
 * Long-running roles: their stdout is a banner, progress and demo output, never a secret. The stdout of
 * the other commands is their answer, and some exist to print a secret there (`keys create`,
 * `endpoints secret`, `endpoints rotate-secret`).
 */
const ROLES = new Set(['up', 'api', 'capture', 'router', 'deliverer']);

/**
 * The secret leak in a child's output, if any: stderr (logs) must hold no secret prefix, and neither
 * must the stdout of a long-running role. Every test that spawns sluice is a secret-leak test through
 * this check (I7 in docs/architecture.md).
 */
export function findSecretLeak(args: readonly string[], stdout: string, stderr: string): string | undefined {
  const command = args.find((a) => !a.startsWith('-'));
  const streams: [string, string][] = [['stderr', stderr]];
  if (command !== undefined && ROLES.has(command)) streams.push(['stdout', stdout]);
  for (const [name, text] of streams) {
    const m = SECRET_RE.exec(text);
    if (!m) continue;
    // The line up to the prefix, cut short of the secret itself so the failure does not repeat it.
    const start = text.lastIndexOf('\n', m.index) + 1;
    const prefix = m[1]!;
    return `sluice ${args.join(' ')} wrote a ${prefix} secret to ${name}: ${text.slice(start, m.index + prefix.length)}…`;
  }
  return undefined;
}

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
    // The API of `sluice up` listens on a free port unless a test asks for one: tests run side by side.
    env: { ...env, SLUICE_API_PORT: '0', ...options.env },
    cwd: options.cwd ?? dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) trackPid(child.pid);
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const streamsDone = Promise.all(
    [child.stdout!, child.stderr!].map((s) => new Promise<void>((resolve) => s.once('close', resolve))),
  );
  const exitedRaw = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      if (child.pid !== undefined) untrackPid(child.pid);
      resolve(code ?? signal ?? -1);
    }),
  );
  // Rejects when the child leaked a secret, which fails whichever test awaits or disposes it. The
  // check waits for the rest of the output (bounded: a grandchild holding the pipes must not hang it).
  const exited = exitedRaw.then(async (code) => {
    await Promise.race([streamsDone, sleep(OUTPUT_DRAIN_MS, undefined, { ref: false })]);
    const leak = findSecretLeak(args, out, err);
    if (leak !== undefined) throw new Error(`secret leak: ${leak}`);
    return code;
  });
  // Marked handled here; the rejection still reaches every later await of `exited`.
  exited.catch(() => undefined);
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
      try {
        await stop();
      } finally {
        await removeTempDir(dir);
      }
    },
  };
}
