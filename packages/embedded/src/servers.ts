import { join, resolve } from 'node:path';
import { preferredPort } from './free-port.js';
import { mysqlSources, type Config, type Logger } from '@sluice/core';
import { startMariadb, type EmbeddedMariadb } from './mariadb.js';
import { startNatsServer, type EmbeddedNats } from './nats-server.js';

/** The configuration with embedded servers filled in, and what was started. */
export interface EmbeddedServers {
  readonly config: Config;
  readonly nats: EmbeddedNats | undefined;
  readonly mariadb: EmbeddedMariadb | undefined;
  /** Stops every server started here, newest first. */
  stop(): Promise<void>;
}

/** Ports to prefer, from the previous start; a port taken meanwhile is replaced by a free one. */
export interface EmbeddedPorts {
  readonly nats?: number | undefined;
  readonly mariadb?: number | undefined;
}

/**
 * Starts a local `nats-server -js` when `nats.url` is absent and a local `mariadbd` when a MySQL
 * source has no `url`, with data under `embedded.dataDir` and on free ports (the standard ports may
 * belong to someone else), preferring `ports` so that a restart keeps its URLs. Only `sluice up` does
 * this: separate role processes must share one broker, so they require explicit URLs.
 */
export async function startEmbedded(
  config: Config,
  logger: Logger,
  ports: EmbeddedPorts = {},
): Promise<EmbeddedServers> {
  const log = logger.child({ component: 'embedded' });
  const dataDir = resolve(config.embedded.dataDir);
  let nats: EmbeddedNats | undefined;
  let mariadb: EmbeddedMariadb | undefined;
  const stop = async (): Promise<void> => {
    await mariadb?.stop();
    await nats?.stop();
  };
  try {
    if (config.nats.url === undefined) {
      nats = await startNatsServer({ dataDir: join(dataDir, 'nats'), port: await preferredPort(ports.nats) });
      log.info({ url: nats.url, dataDir: nats.dataDir }, 'embedded nats-server started');
    }
    if (mysqlSources(config).some((s) => s.url === undefined)) {
      mariadb = await startMariadb({
        dataDir: join(dataDir, 'mariadb'),
        port: await preferredPort(ports.mariadb),
        initSql: config.embedded.initSql,
        captureSchemas: capturedSchemas(config),
      });
      log.info({ port: mariadb.port, socket: mariadb.socket }, 'embedded mariadbd started');
    }
    const config2 = withEmbeddedUrls(config, { natsUrl: nats?.url, captureUrl: mariadb?.captureUrl });
    return { config: config2, nats, mariadb, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The configuration with the embedded servers' URLs filled in where it has none: `nats.url`, and the
 * `url` of every MySQL source without one. Used by `sluice up` and by the commands that find its
 * servers through `.sluice/state.json`.
 */
export function withEmbeddedUrls(
  config: Config,
  urls: { readonly natsUrl?: string | undefined; readonly captureUrl?: string | undefined },
): Config {
  const { natsUrl, captureUrl } = urls;
  return Object.freeze({
    ...config,
    nats:
      config.nats.url === undefined && natsUrl !== undefined ? { ...config.nats, url: natsUrl } : config.nats,
    sources: config.sources.map((s) =>
      s.kind === 'mysql' && s.url === undefined && captureUrl !== undefined ? { ...s, url: captureUrl } : s,
    ),
  });
}

/**
 * The schemas the embedded capture user needs SELECT on: the schema part of every `include` pattern of
 * the sources it serves (those without `url`, or with `embeddedUrl` filled in), or undefined (every
 * schema) when one of them captures everything or names schemas by wildcard.
 */
export function capturedSchemas(config: Config, embeddedUrl?: string): string[] | undefined {
  const schemas = new Set<string>();
  for (const s of mysqlSources(config)) {
    if (s.url !== undefined && s.url !== embeddedUrl) continue;
    if (s.include.length === 0) return undefined;
    for (const pattern of s.include) {
      const schema = pattern.split('.')[0]!;
      if (schema.includes('*')) return undefined;
      schemas.add(schema);
    }
  }
  return [...schemas];
}
