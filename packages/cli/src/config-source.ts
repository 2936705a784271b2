import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config, type EndpointConfig } from '@sluice/core';
import { withEmbeddedUrls } from '@sluice/embedded';
import type { CliIo, CommandSpec, ParsedArgs } from './command.js';
import { LOCAL_DIR, readLocalState, type LocalState } from './local-state.js';

/** The quick-start configuration shipped with the cli package. */
export const QUICKSTART_CONFIG = fileURLToPath(new URL('../quickstart.yaml', import.meta.url));

/** A command's configuration and where it came from. */
export interface ResolvedConfig {
  readonly config: Config;
  /** True when no `--config`/`SLUICE_CONFIG` was given. */
  readonly implicit: boolean;
  /** The file loaded, absolute. */
  readonly file: string | undefined;
  readonly local: LocalState | undefined;
}

/**
 * Loads the configuration a command runs with: `--config` or `SLUICE_CONFIG` when given; otherwise, by
 * the command's {@link CommandSpec.configSource}, the quick-start file, the servers that `sluice up`
 * recorded in `./.sluice` (unless `SLUICE_NATS_URL` names a server), or defaults and `SLUICE_*`
 * variables only. Says on stderr which implicit source it took.
 */
export async function resolveConfig(spec: CommandSpec, args: ParsedArgs, io: CliIo): Promise<ResolvedConfig> {
  const explicit = (args.values.config as string | undefined) ?? io.env.SLUICE_CONFIG;
  if (explicit !== undefined) {
    const file = resolve(io.cwd ?? process.cwd(), explicit);
    return { config: await loadConfig({ path: file, env: io.env }), implicit: false, file, local: undefined };
  }
  const source = spec.configSource;
  if ((source === 'local' || source === 'local-or-quickstart') && io.env.SLUICE_NATS_URL === undefined) {
    const local = await readLocalState(resolve(io.cwd ?? process.cwd(), LOCAL_DIR));
    if (local !== undefined) {
      io.err(
        `using the embedded servers of ${local.label}${local.running ? '' : ' (sluice up is not running)'}`,
      );
      const file = local.record.configFile;
      return { config: await localConfig(local, io.env), implicit: true, file, local };
    }
  }
  if (source === 'quickstart' || source === 'local-or-quickstart') {
    io.err(`no --config given: using the bundled quick-start configuration ${QUICKSTART_CONFIG}`);
    const config = await loadConfig({ path: QUICKSTART_CONFIG, env: io.env });
    return { config, implicit: true, file: QUICKSTART_CONFIG, local: undefined };
  }
  return { config: await loadConfig({ env: io.env }), implicit: true, file: undefined, local: undefined };
}

/** The configuration the `sluice up` of a `.sluice` folder ran with, its servers' URLs filled in. */
export async function localConfig(local: LocalState, env: CliIo['env']): Promise<Config> {
  const { record } = local;
  const base = await loadConfig({
    ...(record.configFile !== undefined ? { path: record.configFile } : {}),
    env,
  });
  const config = withEmbeddedUrls(base, {
    natsUrl: record.nats?.url,
    captureUrl: record.mariadb?.captureUrl,
  });
  return record.demo ? withDemoEndpoint(config, record.demo.url, record.demo.secret) : config;
}

/** The configuration plus the demo receiver's endpoint and a subscription to every event. */
export function withDemoEndpoint(config: Config, url: string, secret: string): Config {
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
