import { fileURLToPath } from 'node:url';
import {
  SluiceError,
  createLogger,
  isSluiceError,
  loadConfig,
  mysqlSources,
  type Config,
  type EndpointConfig,
  type Logger,
} from '@sluice/core';
import { generateSecret } from '@sluice/deliverer';
import { isAdminCommand, runAdmin } from './admin-command.js';
import { helpText, parseCommandLine } from './args.js';
import { runBackfill } from './backfill-command.js';
import { startDemoReceiver, type DemoReceiver } from './demo-receiver.js';
import { runDoctor } from './doctor.js';
import { runProvision } from './provision-command.js';
import { runKeys } from './keys-command.js';
import { startEmbedded, type EmbeddedServers } from '@sluice/embedded';
import { resolveMainKey, rolesNeedMainKey } from './main-key.js';
import { startRoles, type Role } from './runtime.js';

/** What the binary needs from its surroundings; tests pass their own. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** The quick-start configuration shipped with the cli package. */
export const QUICKSTART_CONFIG = fileURLToPath(new URL('../quickstart.yaml', import.meta.url));

const PROGRESS_INTERVAL_MS = 10_000;

/** Runs the `sluice` command line; resolves with the process exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const args = parseCommandLine(argv);
    if (args.values.help === true || args.command === undefined) {
      io.out(helpText(args.command));
      return 0;
    }
    if (args.command === 'version') {
      io.out('sluice 0.1.0');
      return 0;
    }
    const explicit = (args.values.config as string | undefined) ?? io.env.SLUICE_CONFIG;
    const path = explicit ?? (args.command === 'up' ? QUICKSTART_CONFIG : undefined);
    if (explicit === undefined && path !== undefined)
      io.err(`no --config given: using the bundled quick-start configuration ${path}`);
    const config = await loadConfig({ path, env: io.env });
    if (args.command === 'doctor') return await runDoctor(config, io.out);
    if (args.command === 'provision') return await runProvision(config, io.out);
    if (args.command === 'backfill') return await runBackfill(args, config, io);
    if (isAdminCommand(args.command)) return await runAdmin(args, config, io, Date.now());
    if (args.command === 'keys') return await runKeys(args, config, io, Date.now());
    const demo = args.values.demo === true || (args.command === 'up' && explicit === undefined);
    // The producers first: they are also stopped first, so that router and deliverer drain what they wrote.
    const roles: Role[] =
      args.command === 'up' ? ['api', 'capture', 'router', 'deliverer'] : [args.command as Role];
    return await serve(config, roles, { demo, embedded: args.command === 'up' }, io);
  } catch (err) {
    io.err(formatError(err));
    return isSluiceError(err, 'SLUICE_USAGE') ? 2 : 1;
  }
}

async function serve(
  config: Config,
  roles: Role[],
  opts: { demo: boolean; embedded: boolean },
  io: CliIo,
): Promise<number> {
  const logger = createLogger(config.logging);
  let servers: EmbeddedServers | undefined;
  let receiver: DemoReceiver | undefined;
  try {
    if (opts.embedded) {
      servers = await startEmbedded(config, logger);
      config = servers.config;
    } else requireUrls(config, roles);
    if (opts.demo) {
      const secret = generateSecret();
      receiver = await startDemoReceiver({ secret, print: io.out });
      config = withDemoEndpoint(config, receiver.url, secret);
    }
    const mainKey = await resolveMainKey({
      env: io.env,
      config,
      needed: rolesNeedMainKey(config, roles),
      // Only next to its own embedded NATS server may `sluice up` keep the key in a file: the sealed
      // secrets then live in the same directory, on the same machine.
      fallback: servers?.nats ? 'create' : 'none',
      warn: io.err,
    });
    const runtime = await startRoles(config, roles, logger, { mainKey });
    io.out(banner(roles, servers, receiver, runtime.apiUrl));
    const code = await untilStopped(runtime, logger);
    await runtime.stop();
    return code;
  } finally {
    await receiver?.close();
    await servers?.stop();
  }
}

function untilStopped(runtime: Awaited<ReturnType<typeof startRoles>>, logger: Logger): Promise<number> {
  return new Promise<number>((resolve) => {
    let last = '';
    const progress = setInterval(() => {
      const stats = runtime.stats();
      const line = JSON.stringify(stats);
      if (line !== last) logger.info(stats, 'progress');
      last = line;
    }, PROGRESS_INTERVAL_MS);
    progress.unref();
    const finish = (code: number): void => {
      clearInterval(progress);
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      resolve(code);
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'stopping');
      finish(0);
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
    runtime.done.then(
      () => finish(0),
      (err: unknown) => {
        logger.fatal({ err, code: (err as SluiceError).code }, 'a role failed');
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

function withDemoEndpoint(config: Config, url: string, secret: string): Config {
  const endpoint: EndpointConfig = {
    id: 'demo',
    url,
    secret,
    timeoutMs: 5_000,
    connectTimeoutMs: 1_000,
    enabled: true,
    maxInFlight: 64,
    signing: 'v1',
    // The demo receiver listens on 127.0.0.1, which the network policy blocks unless allowed.
    allowNetworks: ['127.0.0.1/32'],
  };
  return Object.freeze({
    ...config,
    endpoints: [...config.endpoints.filter((e) => e.id !== 'demo'), endpoint],
    subscriptions: [
      ...config.subscriptions.filter((s) => s.id !== 'demo'),
      { id: 'demo', endpoint: 'demo', types: ['>'] },
    ],
  });
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
  if (apiUrl !== undefined) {
    const env = servers?.nats ? `SLUICE_NATS_URL=${servers.nats.url} ` : '';
    lines.push('', 'Send an event over HTTP with a key from:', `  ${env}sluice keys create --scope ingest`);
  }
  if (servers?.mariadb) {
    lines.push('', 'Try, in another terminal:');
    lines.push(`  mariadb --no-defaults -uroot --socket=${servers.mariadb.socket} shop \\`);
    lines.push(`    -e "INSERT INTO orders (customer, total) VALUES ('ada', 42.50)"`);
  }
  lines.push('', 'Stop with Ctrl-C.');
  return lines.join('\n');
}

/** One readable line (or block) for an error, with its code. */
export function formatError(err: unknown): string {
  if (err instanceof SluiceError) return `error ${err.code}: ${err.message}`;
  return `error: ${(err as Error)?.stack ?? String(err)}`;
}
