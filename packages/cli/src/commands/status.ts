import { resolve } from 'node:path';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCaptureStatus, type CaptureStatus } from '@sluice/capture';
import {
  SluiceError,
  connectNats,
  mysqlSources,
  openCheckpoints,
  openLeases,
  type Config,
} from '@sluice/core';
import { requireNats } from '../admin/context.js';
import { parseDuration } from '../admin/time.js';
import { ADMIN_OPTIONS, type CommandContext, type CommandSpec } from '../command.js';
import { localConfig } from '../config-source.js';
import { LOCAL_DIR, readLocalState, type LocalState } from '../local-state.js';

const DEFAULT_TIMEOUT_MS = 60_000;
const POLL_MS = 250;

/** What `sluice status` found. */
export interface StatusReport {
  /** Every source captures from a durable position (and NATS answered). */
  readonly ready: boolean;
  readonly sluiceUp?: { readonly running: boolean; readonly pid?: number; readonly api?: string };
  readonly nats: { readonly url: string };
  readonly sources: readonly CaptureStatus[];
  /** Why nothing more is known. */
  readonly note?: string;
}

/**
 * `sluice status`: whether capture is ready (for every MySQL source a capturer holds the lease and a
 * checkpoint exists, so every row committed from now on is captured) and the servers in use. With
 * `--wait ready` it waits for that, for scripts that insert right after `sluice up`: exit 0 once ready,
 * 1 at the timeout.
 */
export async function runStatus(ctx: CommandContext): Promise<number> {
  const { args, io } = ctx;
  const wait = args.values.wait as string | undefined;
  if (wait !== undefined && wait !== 'ready')
    throw new SluiceError('SLUICE_USAGE', `--wait "${wait}": the only state to wait for is "ready"`);
  const timeoutMs =
    args.values.timeout === undefined
      ? DEFAULT_TIMEOUT_MS
      : parseDuration('--timeout', args.values.timeout as string);
  const deadline = Date.now() + timeoutMs;
  const reader = new StatusReader(ctx);
  // While waiting, a server that is not up yet (sluice up still starting) is a state, not an error.
  const poll = (): Promise<StatusReport> =>
    wait === undefined
      ? reader.read()
      : reader.read().catch(async (err: unknown) => {
          await reader.disconnect();
          return {
            ready: false,
            nats: { url: '' },
            sources: [],
            note: `not reachable yet: ${(err as Error).message}`,
          };
        });
  let report: StatusReport;
  try {
    report = await poll();
    while (wait !== undefined && !report.ready && Date.now() < deadline) {
      await sleep(POLL_MS);
      report = await poll();
    }
  } finally {
    await reader.disconnect();
  }
  if (args.values.json === true) io.out(JSON.stringify(report, null, 2));
  else for (const line of describe(report)) io.out(line);
  if (wait !== undefined && !report.ready) io.err(`not ready after ${Math.round(timeoutMs / 1000)} s`);
  return report.ready ? 0 : 1;
}

/**
 * Reads the status, poll after poll: the folder's record is looked up again each time (a script may
 * start `sluice status --wait ready` before `sluice up` writes it), while the configuration is loaded
 * once per `sluice up` start and the NATS connection is kept for as long as its URL stays the same.
 */
class StatusReader {
  readonly #ctx: CommandContext;
  #config: { readonly startedAt: string; readonly config: Config } | undefined;
  #nats: { readonly url: string; readonly open: Promise<Buckets> } | undefined;

  constructor(ctx: CommandContext) {
    this.#ctx = ctx;
  }

  async read(): Promise<StatusReport> {
    const ctx = this.#ctx;
    const implicit = ctx.implicitConfig && ctx.io.env.SLUICE_NATS_URL === undefined;
    const local = implicit
      ? await readLocalState(resolve(ctx.io.cwd ?? process.cwd(), LOCAL_DIR))
      : ctx.local;
    if (implicit && local === undefined && ctx.config.nats.url === undefined)
      return {
        ready: false,
        nats: { url: '' },
        sources: [],
        note: 'no "sluice up" has run in this folder yet',
      };
    const config = local !== undefined ? await this.#localConfig(local) : ctx.config;
    const sluiceUp = local && {
      running: local.running,
      ...(local.record.pid !== undefined && local.running ? { pid: local.record.pid } : {}),
      ...(local.record.api ? { api: local.record.api.url } : {}),
    };
    const nats = { url: config.nats.url ?? '' };
    if (local !== undefined && !local.running)
      return { ready: false, ...(sluiceUp ? { sluiceUp } : {}), nats, sources: [] };
    requireNats({ ...ctx, config, local });
    const { checkpoints, leases } = await this.#buckets(config);
    const now = Math.max(ctx.nowMs, Date.now());
    const sources = await Promise.all(
      mysqlSources(config).map((s) => readCaptureStatus(checkpoints, leases, s.id, now)),
    );
    return { ready: sources.every((s) => s.ready), ...(sluiceUp ? { sluiceUp } : {}), nats, sources };
  }

  /** Closes the connection, if one is open; the next read opens a new one. */
  async disconnect(): Promise<void> {
    const open = this.#nats?.open;
    this.#nats = undefined;
    await open?.then(({ nc }) => nc.close()).catch(() => undefined);
  }

  async #localConfig(local: LocalState): Promise<Config> {
    const { startedAt } = local.record;
    if (this.#config?.startedAt !== startedAt)
      this.#config = { startedAt, config: await localConfig(local, this.#ctx.io.env) };
    return this.#config.config;
  }

  async #buckets(config: Config): Promise<Buckets> {
    const url = config.nats.url ?? '';
    if (this.#nats?.url !== url) {
      await this.disconnect();
      this.#nats = { url, open: openBuckets(config) };
    }
    return this.#nats!.open;
  }
}

interface Buckets {
  readonly nc: NatsConnection;
  readonly checkpoints: KV;
  readonly leases: KV;
}

async function openBuckets(config: Config): Promise<Buckets> {
  const { nc } = await connectNats(config.nats, { name: 'sluice-status' });
  try {
    const [checkpoints, leases] = await Promise.all([
      openCheckpoints(nc, config.nats),
      openLeases(nc, config.nats),
    ]);
    return { nc, checkpoints, leases };
  } catch (err) {
    await nc.close();
    throw err;
  }
}

function describe(r: StatusReport): string[] {
  const lines: string[] = [];
  if (r.sluiceUp)
    lines.push(
      r.sluiceUp.running
        ? `sluice up   running (pid ${r.sluiceUp.pid ?? '?'})${r.sluiceUp.api ? `, API ${r.sluiceUp.api}` : ''}`
        : 'sluice up   not running (start it with: sluice up)',
    );
  if (r.nats.url !== '' && r.sluiceUp?.running !== false) lines.push(`NATS        ${r.nats.url}`);
  if (r.note !== undefined) lines.push(r.note);
  for (const s of r.sources) {
    const why = s.ready
      ? `ready: capturing from ${s.position ?? '?'} (lease ${s.lease?.owner ?? '?'})`
      : s.checkpoint === undefined
        ? 'not ready: capture has not recorded a start position yet'
        : 'not ready: no capture process holds the lease';
    lines.push(`source ${s.sourceId.padEnd(5)} ${why}`);
  }
  lines.push(r.ready ? 'ready' : 'not ready');
  return lines;
}

/** `sluice status`. */
export const statusCommand: CommandSpec = {
  name: 'status',
  summary: 'show whether capture is ready and which servers are in use; --wait ready waits for it (scripts)',
  usage: 'sluice status [--wait ready] [--timeout DURATION] [--json] [--config FILE]',
  options: {
    ...ADMIN_OPTIONS,
    wait: { type: 'string', description: 'wait until this state is reached: ready' },
    timeout: { type: 'string', description: 'how long --wait waits before exiting 1 (default 60s)' },
  },
  notes:
    'Ready means every MySQL source has a capture process holding its lease and a durable start position:\nrows committed from then on are captured. Exit code 0 when ready, 1 when not. A first start begins at\nthe end of the binlog, so a script should wait for ready before it writes rows (docs/capture.md).',
  configSource: 'local',
  run: runStatus,
};
