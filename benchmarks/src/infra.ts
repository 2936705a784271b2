import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  freePort,
  startMariadb,
  startNatsServer,
  type EmbeddedMariadb,
  type EmbeddedNats,
} from '@sluice/embedded';
import { BENCH_TABLE_SQL } from './payloads.js';
import type { ReceiverCommand, ReceiverStats } from './receiver.js';

const RECEIVER = fileURLToPath(new URL('./receiver.js', import.meta.url));
const SLUICE_BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

/** A receiver process, from {@link Infra.receiver}. */
export interface Receiver {
  readonly url: string;
  readonly pid: number;
  /** Requests received (and arrivals since the last call, in latency mode). */
  stats(): Promise<ReceiverStats>;
  reset(): Promise<void>;
}

/** A `sluice <role>` child process, from {@link Infra.sluice}. */
export interface SluiceChild {
  readonly pid: number;
  /** Resolves when the role printed that it is up. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The servers and processes of one phase, each started on first use on a free port in a throwaway
 * directory, all stopped by {@link stop}: every phase starts from empty streams and tables.
 */
export class Infra {
  readonly dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  #nats: EmbeddedNats | undefined;
  #db: EmbeddedMariadb | undefined;
  readonly #children: ChildProcess[] = [];
  readonly #stops: (() => Promise<void>)[] = [];

  /** A nats-server with JetStream. */
  async nats(): Promise<{ url: string; pid: number }> {
    this.#nats ??= await startNatsServer({ dataDir: join(this.dir, 'nats') });
    return { url: this.#nats.url, pid: this.#nats.pid };
  }

  /** A mariadbd with row binlog and the `bench.orders` table. */
  async mariadb(): Promise<{ rootUrl: string; captureUrl: string; pid: number }> {
    this.#db ??= await startMariadb({
      dataDir: join(this.dir, 'db'),
      initSql: ['CREATE DATABASE bench', BENCH_TABLE_SQL],
    });
    return { rootUrl: this.#db.rootUrl, captureUrl: this.#db.captureUrl, pid: this.#db.pid };
  }

  /** A redis-server (for the BullMQ baseline), persistence off. */
  async redis(): Promise<{ host: string; port: number; pid: number }> {
    const port = await freePort();
    const child = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', this.dir],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    this.#children.push(child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await waitUntil(() => out.includes('Ready to accept connections'), 10_000, 'redis-server ready');
    return { host: '127.0.0.1', port, pid: child.pid! };
  }

  /**
   * A receiver process answering `status` (default 204) after `delayMs` (default 0); `latency` records
   * arrival times.
   */
  async receiver(options: { status?: number; latency?: boolean; delayMs?: number } = {}): Promise<Receiver> {
    const child = fork(RECEIVER, [], {
      env: {
        ...process.env,
        BENCH_RECEIVER_STATUS: String(options.status ?? 204),
        BENCH_RECEIVER_LATENCY: options.latency ? '1' : '0',
        BENCH_RECEIVER_DELAY_MS: String(options.delayMs ?? 0),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#children.push(child);
    const [{ port }] = (await once(child, 'message')) as [{ port: number }];
    let queue = Promise.resolve<unknown>(undefined);
    const ask = (cmd: ReceiverCommand): Promise<ReceiverStats> => {
      const next = queue.then(async () => {
        child.send(cmd);
        const [stats] = (await once(child, 'message')) as [ReceiverStats];
        return stats;
      });
      queue = next.catch(() => undefined);
      return next;
    };
    return {
      url: `http://127.0.0.1:${port}/hook`,
      pid: child.pid!,
      stats: () => ask({ cmd: 'stats' }),
      reset: async () => void (await ask({ cmd: 'reset' })),
    };
  }

  /** Runs `sluice <role>` with `config` as its configuration file. */
  sluice(
    role: 'up' | 'capture' | 'router' | 'deliverer',
    config: Record<string, unknown>,
    extraNodeArgs: string[] = [],
  ): SluiceChild {
    const file = join(this.dir, `sluice-${role}-${this.#children.length}.yaml`);
    writeFileSync(file, JSON.stringify({ logging: { level: 'warn' }, ...config }));
    const child = spawn(process.execPath, [...extraNodeArgs, SLUICE_BIN, role, '--config', file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.#children.push(child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const ready = waitUntil(() => out.includes('sluice is up'), 60_000, `sluice ${role} up`);
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    };
    this.#stops.push(stop);
    return { pid: child.pid!, ready, stop };
  }

  /** Stops everything this phase started and removes its directory. */
  async stop(): Promise<void> {
    for (const s of this.#stops.reverse()) await s().catch(() => undefined);
    for (const c of this.#children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all(
      this.#children.map((c) => (c.exitCode === null && c.signalCode === null ? once(c, 'exit') : undefined)),
    );
    await this.#db?.stop();
    await this.#nats?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls `fn` every 20 ms until true; throws after `timeoutMs`. */
export async function waitUntil(
  fn: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline)
      throw new Error(`benchmark: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
