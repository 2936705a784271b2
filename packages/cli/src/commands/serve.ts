import { basename, isAbsolute, relative, resolve } from 'node:path';
import { SluiceError, createLogger, mysqlSources, type Config, type Logger } from '@sluice/core';
import { generateSecret } from '@sluice/deliverer';
import { startEmbedded, type EmbeddedServers } from '@sluice/embedded';
import type { CommandContext } from '../command.js';
import { withDemoEndpoint } from '../config-source.js';
import { startDemoReceiver, type DemoReceiver } from '../demo-receiver.js';
import { readLocalState, writeLocalState, type LocalRecord } from '../local-state.js';
import { resolveMainKey, rolesNeedMainKey } from '../main-key.js';
import { startRoles, type Role, type Runtime } from '../runtime.js';

const PROGRESS_INTERVAL_MS = 10_000;
const READY_POLL_MS = 200;

/** How {@link serve} runs: which roles, and with what around them. */
export interface ServeOptions {
  readonly roles: readonly Role[];
  /** Start nats-server and mariadbd for what the configuration leaves without a URL (`sluice up`). */
  readonly embedded: boolean;
  /** Start the demo receiver, subscribed to every event. */
  readonly demo: boolean;
}

/**
 * Runs roles in this process until SIGINT/SIGTERM or a fatal role failure; resolves with the exit
 * code. In embedded mode it records what it started in `<embedded.dataDir>/state.json`, so that the
 * admin commands of the same folder find the servers (config-source.ts).
 */
export async function serve(ctx: CommandContext, opts: ServeOptions): Promise<number> {
  let { config } = ctx;
  const { io } = ctx;
  const logger = createLogger(config.logging);
  let servers: EmbeddedServers | undefined;
  let receiver: DemoReceiver | undefined;
  let record: LocalRecord | undefined;
  const dataDir = resolve(config.embedded.dataDir);
  try {
    if (opts.embedded) {
      // The previous ports are a nicety: a record that cannot be read is rewritten below.
      const previous = (await readLocalState(dataDir).catch(() => undefined))?.record;
      servers = await startEmbedded(config, logger, {
        nats: previous?.nats?.port,
        mariadb: previous?.mariadb?.port,
      });
      config = servers.config;
    } else requireUrls(config, opts.roles);
    let demo: { url: string; secret: string } | undefined;
    if (opts.demo) {
      const secret = generateSecret();
      receiver = await startDemoReceiver({ secret, print: io.out });
      demo = { url: receiver.url, secret };
      config = withDemoEndpoint(config, receiver.url, secret);
    }
    const mainKey = await resolveMainKey({
      env: io.env,
      config,
      needed: rolesNeedMainKey(config, opts.roles),
      // Only next to its own embedded NATS server may `sluice up` keep the key in a file: the sealed
      // secrets then live in the same directory, on the same machine.
      fallback: servers?.nats ? 'create' : 'none',
      warn: io.err,
    });
    const runtime = await startRoles(config, opts.roles, logger, { mainKey });
    if (servers?.nats !== undefined || servers?.mariadb !== undefined) {
      record = localRecord(ctx, servers, demo, runtime.apiUrl);
      await writeLocalState(dataDir, record);
    }
    io.out(banner(opts.roles, servers, receiver, runtime.apiUrl));
    const code = await untilStopped(runtime, logger, (sources) => {
      if (record === undefined) return;
      record = { ...record, ready: { at: new Date().toISOString(), sources } };
      return writeLocalState(dataDir, record);
    });
    await runtime.stop();
    return code;
  } finally {
    await receiver?.close();
    await servers?.stop();
    if (record !== undefined) {
      const { pid: _pid, ready: _ready, ...rest } = record;
      await writeLocalState(dataDir, { ...rest, stoppedAt: new Date().toISOString() }).catch(() => undefined);
    }
  }
}

function localRecord(
  ctx: CommandContext,
  servers: EmbeddedServers,
  demo: { url: string; secret: string } | undefined,
  apiUrl: string | undefined,
): LocalRecord {
  const { nats, mariadb } = servers;
  return {
    version: 1,
    configFile: ctx.configFile,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    ...(nats ? { nats: { url: nats.url, port: nats.port, dataDir: nats.dataDir } } : {}),
    ...(mariadb
      ? {
          mariadb: {
            port: mariadb.port,
            socket: mariadb.socket,
            dataDir: mariadb.dataDir,
            captureUrl: mariadb.captureUrl,
          },
        }
      : {}),
    ...(apiUrl !== undefined ? { api: { url: apiUrl } } : {}),
    ...(demo ? { demo } : {}),
  };
}

function untilStopped(
  runtime: Runtime,
  logger: Logger,
  onReady: (sources: Record<string, string>) => Promise<void> | undefined,
): Promise<number> {
  const log = logger.child({ component: 'runtime' });
  return new Promise<number>((resolve) => {
    let last = '';
    const progress = setInterval(() => {
      const stats = runtime.stats();
      const line = JSON.stringify(stats);
      if (line !== last) log.info(stats, 'progress');
      last = line;
    }, PROGRESS_INTERVAL_MS);
    progress.unref();
    // Readiness is polled, not pushed: the roles know nothing of the state file.
    const readiness = setInterval(() => {
      const sources = runtime.readiness();
      if (sources === undefined) return;
      clearInterval(readiness);
      void onReady(sources)?.catch((err: unknown) => log.warn({ err }, 'could not record readiness'));
    }, READY_POLL_MS);
    readiness.unref();
    const finish = (code: number): void => {
      clearInterval(progress);
      clearInterval(readiness);
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      resolve(code);
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'stopping');
      finish(0);
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
    runtime.done.then(
      () => finish(0),
      (err: unknown) => {
        log.fatal({ err, code: (err as SluiceError).code }, 'a role failed');
        finish(1);
      },
    );
  });
}

function requireUrls(config: Config, roles: readonly Role[]): void {
  const problems: string[] = [];
  if (config.nats.url === undefined)
    problems.push('nats.url (SLUICE_NATS_URL) is required: only "sluice up" starts an embedded nats-server');
  if (roles.includes('capture'))
    for (const s of mysqlSources(config))
      if (s.url === undefined)
        problems.push(`sources[${s.id}].url is required: only "sluice up" starts an embedded mariadbd`);
  if (problems.length > 0)
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `configuration incomplete for this role:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
}

function banner(
  roles: readonly Role[],
  servers: EmbeddedServers | undefined,
  receiver: DemoReceiver | undefined,
  apiUrl: string | undefined,
): string {
  const lines = [`sluice is up (${roles.join(', ')}).`];
  if (apiUrl !== undefined) lines.push(`  API       ${apiUrl}   POST /v1/events (docs/api.md)`);
  if (servers?.nats) lines.push(`  NATS      ${servers.nats.url}   data: ${servers.nats.dataDir}`);
  if (servers?.mariadb)
    lines.push(`  MariaDB   127.0.0.1:${servers.mariadb.port}   data: ${servers.mariadb.dataDir}`);
  if (receiver) lines.push(`  receiver  ${receiver.url}   prints every verified event below`);
  const sluice = invocation();
  if (servers !== undefined)
    lines.push(
      '',
      'Admin commands run from this folder use these servers (recorded in .sluice/state.json):',
      ...['status --wait ready', 'endpoints', 'attempts demo', 'dlq ls'].map((c) => `  ${sluice} ${c}`),
    );
  if (apiUrl !== undefined)
    lines.push('', 'Send an event over HTTP with a key from:', `  ${sluice} keys create --scope ingest`);
  if (servers?.mariadb) {
    lines.push('', 'Try, in another terminal (also while sluice is stopped):');
    lines.push(`  ${sluice} db -e "INSERT INTO orders (customer, total) VALUES ('ada', 42.50)"`);
    lines.push(`  (or: mariadb --no-defaults -uroot --socket=${servers.mariadb.socket} shop)`);
  }
  lines.push('', 'Stop with Ctrl-C.');
  return lines.join('\n');
}

// How to run this binary again from here: `sluice` when it was started by that name (installed on the
// PATH), else `node <path to bin.js>`, so that the commands the banner prints can be pasted as they are.
function invocation(): string {
  const script = process.argv[1] ?? '';
  if (basename(script) === 'sluice') return 'sluice';
  const path = relative(process.cwd(), script);
  return `node ${path.startsWith('..') || isAbsolute(path) ? script : `./${path}`}`;
}
