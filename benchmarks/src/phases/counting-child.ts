// A benchmark child process that counts what it processes (binlog rows decoded, jobs completed), so
// that its CPU is measured apart from the harness that prepared the load. The parent forks it with a
// JSON argument and asks for samples over IPC; the child serves them with `serveCounts`.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { CountSample } from './ref-window.js';

/** Commands a counting child understands; `target` sets the count at which it reports `doneAtNs`. */
export type CountingCommand =
  { cmd: 'sample' } | { cmd: 'target'; count: number } | { cmd: 'pause' } | { cmd: 'resume' };

type ChildMessage =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'sample'; count: number; firstAtNs?: string; doneAtNs?: string };

/** A forked counting child, from {@link forkCountingChild}. */
export interface CountingChild {
  readonly pid: number;
  sample(): Promise<CountSample>;
  send(cmd: Exclude<CountingCommand, { cmd: 'sample' }>): Promise<void>;
  /** Ends the child (SIGTERM, then SIGKILL after 5 s) and waits for its exit. */
  stop(): Promise<void>;
}

/** Forks `script` with `arg` as JSON and resolves once it reported ready. */
export async function forkCountingChild(script: string, arg: unknown): Promise<CountingChild> {
  const child: ChildProcess = fork(script, [JSON.stringify(arg)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let failure: Error | undefined;
  const exited = once(child, 'exit');
  const pending: ((m: ChildMessage) => void)[] = [];
  child.on('message', (m: ChildMessage) => {
    if (m.type === 'failed') failure ??= new Error(`benchmark child ${script}: ${m.message}`);
    pending.shift()?.(m);
  });
  const next = (): Promise<ChildMessage> =>
    new Promise((resolve, reject) => {
      pending.push(resolve);
      void exited.then(() =>
        reject(failure ?? new Error(`benchmark child ${script} exited (code ${child.exitCode})`)),
      );
    });
  const first = await next();
  if (first.type !== 'ready') throw failure ?? new Error(`benchmark child ${script} did not start`);
  let queue: Promise<unknown> = Promise.resolve();
  const ask = (cmd: CountingCommand): Promise<ChildMessage> => {
    const p = queue.then(() => {
      if (failure) throw failure;
      const reply = next();
      child.send(cmd);
      return reply;
    });
    queue = p.catch(() => undefined);
    return p;
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    pid: child.pid!,
    async sample() {
      const m = await ask({ cmd: 'sample' });
      if (m.type !== 'sample') throw failure ?? new Error(`benchmark child ${script}: unexpected ${m.type}`);
      return {
        count: m.count,
        ...(m.firstAtNs !== undefined ? { firstAtNs: BigInt(m.firstAtNs) } : {}),
        ...(m.doneAtNs !== undefined ? { doneAtNs: BigInt(m.doneAtNs) } : {}),
      };
    },
    async send(cmd) {
      await ask(cmd);
    },
    stop,
  };
}

/** Child side: the counter a child maintains and reports. */
export class Counter {
  count = 0;
  target: number;
  #firstAt: bigint | undefined;
  #doneAt: bigint | undefined;

  constructor(target: number) {
    this.target = target;
  }

  add(n: number): void {
    if (this.count === 0) this.#firstAt = process.hrtime.bigint();
    this.count += n;
    if (this.#doneAt === undefined && this.count >= this.target) this.#doneAt = process.hrtime.bigint();
  }

  retarget(target: number): void {
    this.target = target;
    if (this.count < target) this.#doneAt = undefined;
  }

  message(): ChildMessage {
    return {
      type: 'sample',
      count: this.count,
      ...(this.#firstAt !== undefined ? { firstAtNs: String(this.#firstAt) } : {}),
      ...(this.#doneAt !== undefined ? { doneAtNs: String(this.#doneAt) } : {}),
    };
  }
}

/**
 * Child side: reports ready, answers the parent's commands, and exits when the parent goes away or
 * sends SIGTERM (after `close`). `pause`/`resume` are for children that support them.
 */
export function serveCounts(
  counter: Counter,
  hooks: { close(): Promise<void>; pause?(): Promise<void>; resume?(): Promise<void> },
): { ready(): void; fail(err: unknown): void } {
  let closing = false;
  const exit = (code: number): void => {
    if (closing) return;
    closing = true;
    void hooks
      .close()
      .catch(() => undefined)
      .finally(() => process.exit(code));
  };
  process.on('SIGTERM', () => exit(0));
  process.on('disconnect', () => exit(0));
  process.on('message', (m: CountingCommand) => {
    void (async () => {
      switch (m.cmd) {
        case 'sample':
          break;
        case 'target':
          counter.retarget(m.count);
          break;
        case 'pause':
          await hooks.pause?.();
          break;
        case 'resume':
          await hooks.resume?.();
          break;
      }
      process.send?.(counter.message());
    })();
  });
  return {
    ready: () => process.send?.({ type: 'ready' } satisfies ChildMessage),
    fail: (err) => {
      process.send?.({
        type: 'failed',
        message: String((err as Error)?.message ?? err),
      } satisfies ChildMessage);
      exit(1);
    },
  };
}
