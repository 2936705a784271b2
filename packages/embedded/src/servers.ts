import { join, resolve } from 'node:path';
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

/**
 * Starts a local `nats-server -js` when `nats.url` is absent and a local `mariadbd` when a MySQL
 * source has no `url`, with data under `embedded.dataDir` and on free ports (the standard ports may
 * belong to someone else). Only `sluice up` does this: separate role processes must share one
 * broker, so they require explicit URLs.
 */
export async function startEmbedded(config: Config, logger: Logger): Promise<EmbeddedServers> {
  const log = logger.child({ component: 'embedded' });
  const dataDir = resolve(config.embedded.dataDir);
  let nats: EmbeddedNats | undefined;
  let mariadb: EmbeddedMariadb | undefined;
  const stop = async (): Promise<void> => {
    await mariadb?.stop();
    await nats?.stop();
  };
  try {
    const next = structuredClone(config) as { -readonly [K in keyof Config]: Config[K] } & {
      nats: { url?: string };
    };
    if (config.nats.url === undefined) {
      nats = await startNatsServer({ dataDir: join(dataDir, 'nats') });
      next.nats = { ...next.nats, url: nats.url };
      log.info({ url: nats.url, dataDir: nats.dataDir }, 'embedded nats-server started');
    }
    if (mysqlSources(config).some((s) => s.url === undefined)) {
      mariadb = await startMariadb({ dataDir: join(dataDir, 'mariadb'), initSql: config.embedded.initSql });
      const url = mariadb.captureUrl;
      next.sources = next.sources.map((s) => (s.kind === 'mysql' && s.url === undefined ? { ...s, url } : s));
      log.info({ port: mariadb.port, socket: mariadb.socket }, 'embedded mariadbd started');
    }
    return { config: Object.freeze(next) as Config, nats, mariadb, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
