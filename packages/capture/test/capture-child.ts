import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '@sluice/core';
import { trackPid, untrackPid, waitFor } from '@sluice/test-harness';

const CHILD = fileURLToPath(new URL('./fixtures/capture-child.mjs', import.meta.url));

/** One JSON log line of the child's capturer. */
export type LogLine = Record<string, unknown> & { msg?: string; code?: string };

/** A capturer in its own process (fixtures/capture-child.mjs), from {@link spawnCaptureChild}. */
export interface CaptureChild extends AsyncDisposable {
  /** The capturer's log lines so far (JSON on stderr). */
  readonly logs: readonly LogLine[];
  /** Resolves with the exit code or signal once the process is gone. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Waits for `ready` (BinlogCapture.start() resolved). */
  ready(): Promise<void>;
  /** Arms `SLUICE_CRASH_AT` (with `SLUICE_CRASH_ARM=stdin`) and waits for the acknowledgement. */
  arm(): Promise<void>;
  /** SIGKILLs the process (a crash) and waits until it is gone. */
  kill(): Promise<void>;
}

/**
 * Starts fixtures/capture-child.mjs for `config` (which loads the built dist/). `env` adds
 * `SLUICE_CRASH_AT`, `SLUICE_CRASH_ARM`, `SLUICE_CHILD_LOG` (see the fixture).
 */
export function spawnCaptureChild(config: Config, env: Record<string, string> = {}): CaptureChild {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(config)], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) trackPid(child.pid);
  let out = '';
  let err = '';
  const logs: LogLine[] = [];
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString('utf8');
    for (let nl = err.indexOf('\n'); nl >= 0; nl = err.indexOf('\n')) {
      const line = err.slice(0, nl);
      err = err.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line }); // "capture failed: <stack>" and other plain text
      }
    }
  });
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once('exit', (code, signal) => {
      if (child.pid !== undefined) untrackPid(child.pid);
      resolve(signal ?? code ?? -1);
    }),
  );
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const waitOut = (word: string, message: string): Promise<void> =>
    waitFor(
      () => {
        if (gone()) throw new Error(`capture child exited: ${JSON.stringify(logs.slice(-5))}`);
        return out.includes(word);
      },
      { timeoutMs: 60_000, message },
    );
  const kill = async (): Promise<void> => {
    if (!gone()) child.kill('SIGKILL');
    await exited;
  };
  return {
    logs,
    exited,
    ready: () => waitOut('ready\n', 'capture child ready'),
    arm: async () => {
      child.stdin.write('arm\n');
      await waitOut('armed\n', 'capture child armed');
    },
    kill,
    [Symbol.asyncDispose]: kill,
  };
}

/** The `found` counts of the capturer's "reconciled with the events stream" log lines, in order. */
export function reconciledFound(logs: readonly LogLine[]): number[] {
  return logs.filter((l) => l.msg === 'reconciled with the events stream').map((l) => Number(l.found));
}
