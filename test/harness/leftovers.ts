import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<string>();
const livePids = new Set<number>();

// A test file that crashes or times out skips its disposers; at least leave no servers or gigabytes
// of throwaway data behind when the worker process exits.
process.once('exit', () => {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
});

/** Creates a private (0700) directory under the OS temp dir, e.g. `/tmp/sluice-nats-Ab12Cd`. */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `sluice-${prefix}-`));
  live.add(dir);
  return dir;
}

/** Removes a directory made by {@link makeTempDir}. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  live.delete(dir);
}

/** Marks a server process to be killed if the test process exits without stopping it. */
export function trackPid(pid: number): void {
  livePids.add(pid);
}

/** Undoes {@link trackPid} once the server has been stopped. */
export function untrackPid(pid: number): void {
  livePids.delete(pid);
}
