import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, open } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** How an embedded server process ended. */
export interface ChildExit {
  /** Exit code, or `null` when a signal ended it or it never started. */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all. */
  error?: Error;
}

/** A spawned server process and a promise that settles once it has exited. */
export interface ServerChild {
  child: ChildProcess;
  exited: Promise<ChildExit>;
  /** The exit once it has happened, else `undefined`. */
  exit(): ChildExit | undefined;
}

// Debian installs daemons into sbin directories, which are not in PATH for non-root users.
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

/**
 * Finds an executable by name in PATH, then in the sbin directories. With `explicit`, only that path
 * is checked.
 *
 * @returns The absolute path, or `undefined` when none is executable.
 */
export async function findBinary(names: readonly string[], explicit?: string): Promise<string | undefined> {
  const candidates =
    explicit !== undefined
      ? [explicit]
      : names.flatMap((name) => {
          const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
          return [...new Set(dirs)].map((dir) => join(dir, name));
        });
  for (const candidate of candidates) {
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here; try the next one
    }
  }
  return undefined;
}

/**
 * Spawns a server with stdout and stderr appended to `logFile`. Writing to a file rather than a pipe
 * keeps the server alive and unblocked when nobody reads its output (a full pipe stalls the server).
 */
export async function spawnServer(
  binary: string,
  args: readonly string[],
  logFile: string,
): Promise<ServerChild> {
  const log = await open(logFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { stdio: ['ignore', log.fd, log.fd] });
  } finally {
    await log.close();
  }
  let result: ChildExit | undefined;
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve((result = { code, signal })));
    child.once('error', (error) => resolve((result = { code: null, signal: null, error })));
  });
  return { child, exited, exit: () => result };
}

/** Resolves `true` when the process exits within `timeoutMs`, `false` otherwise. */
export async function waitForExit(server: ServerChild, timeoutMs: number): Promise<boolean> {
  if (server.exit() !== undefined) return true;
  const abort = new AbortController();
  try {
    return await Promise.race([
      server.exited.then(() => true),
      sleep(timeoutMs, false, { signal: abort.signal }),
    ]);
  } finally {
    abort.abort();
  }
}

/**
 * Stops a server: `SIGTERM`, then `SIGKILL` once `graceMs` has passed, and waits for the exit.
 *
 * @throws Error when the process survives `SIGKILL` for 10 s (e.g. stuck in uninterruptible I/O).
 */
export async function stopServer(server: ServerChild, graceMs: number): Promise<void> {
  if (server.exit() !== undefined) return;
  server.child.kill('SIGTERM');
  if (await waitForExit(server, graceMs)) return;
  await killServer(server);
}

/**
 * Sends `SIGKILL` and waits for the exit; for fault tests that simulate a crash.
 *
 * @throws Error when the process survives `SIGKILL` for 10 s.
 */
export async function killServer(server: ServerChild): Promise<void> {
  if (server.exit() !== undefined) return;
  server.child.kill('SIGKILL');
  if (await waitForExit(server, 10_000)) return;
  throw new Error(`process ${server.child.pid} did not exit after SIGKILL`);
}

/** The result of {@link pollReady}; `lastError` is the last error thrown by the check, if any. */
export interface ReadyOutcome {
  state: 'ready' | 'exited' | 'timeout';
  lastError: unknown;
}

/**
 * Polls `check` every `intervalMs` until it returns `true`, the process exits, or `timeoutMs` passes.
 * Errors thrown by `check` count as "not yet".
 */
export async function pollReady(
  server: ServerChild,
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<ReadyOutcome> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (server.exit() !== undefined) return { state: 'exited', lastError };
    const ok = await check().catch((err: unknown) => {
      lastError = err;
      return false;
    });
    if (ok) return { state: server.exit() === undefined ? 'ready' : 'exited', lastError };
    if (Date.now() >= deadline) return { state: 'timeout', lastError };
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

/** The last `maxBytes` of a log file as text, or a note when it cannot be read. */
export async function readTail(file: string, maxBytes = 4096): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, maxBytes);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    return `(could not read ${file}: ${(err as Error).message})`;
  }
}

/** Describes an exit for error messages. */
export function describeExit(exit: ChildExit | undefined): string {
  if (exit === undefined) return 'still running';
  if (exit.error) return `could not be spawned: ${exit.error.message}`;
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** What every embedded server exposes, whatever it is. */
export interface EmbeddedServer {
  /** Process id of the server. */
  readonly pid: number;
  /** The server's own directory, made absolute. */
  readonly dataDir: string;
  /** The file receiving the server's output. */
  readonly logFile: string;
  /** Stops the server (SIGTERM, SIGKILL after `stopTimeoutMs`) and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
  /** Sends SIGKILL and waits for the exit, for fault tests; the next start runs crash recovery. */
  kill(): Promise<void>;
  /** Same as `stop()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}
