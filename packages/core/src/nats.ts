import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConfig } from './config-schema.js';
import { SluiceError } from './errors.js';

/** The oldest nats-server sluice runs on (Debian 12's package). See design.md §3. */
export const MIN_NATS_SERVER_VERSION = '2.9.10';

/** Compares dotted versions numerically (`2.10.1` > `2.9.10`); pre-release suffixes are ignored. */
export function compareVersions(a: string, b: string): number {
  const pa = a
    .split(/[.-]/)
    .slice(0, 3)
    .map((x) => Number.parseInt(x, 10) || 0);
  const pb = b
    .split(/[.-]/)
    .slice(0, 3)
    .map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** What the start-up check learnt about the server. */
export interface ServerFacts {
  readonly version: string;
  /** Largest message the server accepts, bytes. */
  readonly maxPayload: number;
}

/** Options of {@link connectNats}. */
export interface ConnectNatsOptions {
  /** Connection name shown in `nats server report connections`, e.g. `sluice-capture`. */
  readonly name: string;
}

/**
 * Connects to NATS, then checks the server version and that JetStream is enabled.
 * Reconnects forever once connected: a broker outage pauses work, it does not end the process.
 * @throws SluiceError `SLUICE_NATS_CONNECT`, `SLUICE_NATS_VERSION` or `SLUICE_NATS_NO_JETSTREAM`.
 */
export async function connectNats(
  config: NatsConfig,
  options: ConnectNatsOptions,
): Promise<{ nc: NatsConnection; jsm: JetStreamManager; server: ServerFacts }> {
  if (config.url === undefined)
    throw new SluiceError('SLUICE_NATS_CONNECT', 'no NATS url configured (nats.url / SLUICE_NATS_URL)');
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: config.url.split(',').map((s) => s.trim()),
      name: options.name,
      timeout: config.connectTimeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...(config.user !== undefined ? { user: config.user, pass: config.pass } : {}),
      ...(config.token !== undefined ? { token: config.token } : {}),
    });
  } catch (cause) {
    throw new SluiceError(
      'SLUICE_NATS_CONNECT',
      `cannot connect to NATS at ${config.url}: ${(cause as Error).message}`,
      { cause },
    );
  }
  try {
    const server = checkServer(nc);
    const jsm = await jetstreamManager(nc, { timeout: config.connectTimeoutMs }).catch((cause: unknown) => {
      throw new SluiceError(
        'SLUICE_NATS_NO_JETSTREAM',
        `JetStream is not enabled on the NATS server at ${config.url} (start nats-server with -js)`,
        { cause },
      );
    });
    return { nc, jsm, server };
  } catch (err) {
    await nc.close();
    throw err;
  }
}

function checkServer(nc: NatsConnection): ServerFacts {
  const info = nc.info;
  if (!info) throw new SluiceError('SLUICE_NATS_CONNECT', 'connected but received no server INFO');
  if (compareVersions(info.version, MIN_NATS_SERVER_VERSION) < 0) {
    throw new SluiceError(
      'SLUICE_NATS_VERSION',
      `nats-server ${info.version} is older than the minimum ${MIN_NATS_SERVER_VERSION}; upgrade it`,
      { details: { version: info.version } },
    );
  }
  if (info.jetstream === false) {
    throw new SluiceError(
      'SLUICE_NATS_NO_JETSTREAM',
      'JetStream is not enabled on the NATS server (start nats-server with -js)',
    );
  }
  return { version: info.version, maxPayload: info.max_payload };
}
