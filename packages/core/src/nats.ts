import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConfig } from './config-schema.js';
import { SluiceError } from './errors.js';
import { natsSecurity, redactNatsUrl, type NatsSecurity } from './nats-auth.js';

/**
 * The oldest nats-server sluice runs on (Debian 12's package). What 2.9 lacks, and so sluice never
 * uses: "Facts the design relies on" in docs/architecture.md.
 */
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
  /**
   * Told every error the server reports on the live connection, such as a permission violation
   * (`Permissions Violation for Publish to "…"`). Without it a refused publish that expects no reply
   * would pass unnoticed: the server answers it only with this asynchronous error.
   */
  readonly onServerError?: (message: string) => void;
}

/**
 * Connects to NATS with the configured authentication and TLS (docs/nats-security.md), then checks
 * the server version and that JetStream is enabled. Reconnects forever once connected: a broker
 * outage pauses work, it does not end the process. Messages name the user, nkey or file, never a
 * password, token or seed, and show the URL without credentials.
 * @throws SluiceError `SLUICE_NATS_CREDENTIALS` (a credential or TLS file), `SLUICE_NATS_AUTH`,
 *   `SLUICE_NATS_TLS`, `SLUICE_NATS_CONNECT`, `SLUICE_NATS_VERSION` or `SLUICE_NATS_NO_JETSTREAM`.
 */
export async function connectNats(
  config: NatsConfig,
  options: ConnectNatsOptions,
): Promise<{ nc: NatsConnection; jsm: JetStreamManager; server: ServerFacts }> {
  if (config.url === undefined)
    throw new SluiceError('SLUICE_NATS_CONNECT', 'no NATS url configured (nats.url / SLUICE_NATS_URL)');
  const url = redactNatsUrl(config.url);
  const security = await natsSecurity(config);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: config.url.split(',').map((s) => s.trim()),
      name: options.name,
      timeout: config.connectTimeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...security.options,
    });
  } catch (cause) {
    throw connectFailure(cause, url, security);
  }
  if (options.onServerError) watchServerErrors(nc, options.onServerError);
  try {
    const server = checkServer(nc);
    const jsm = await jetstreamManager(nc, { timeout: config.connectTimeoutMs }).catch((cause: unknown) => {
      if (isPermissionError(cause))
        throw new SluiceError(
          'SLUICE_NATS_AUTH',
          `NATS at ${url} accepted ${security.who} but does not let it use JetStream: ${(cause as Error).message}; see docs/nats-security.md`,
          { cause, details: { url, auth: security.auth } },
        );
      throw new SluiceError(
        'SLUICE_NATS_NO_JETSTREAM',
        `JetStream is not enabled on the NATS server at ${url} (start nats-server with -js)`,
        { cause },
      );
    });
    return { nc, jsm, server };
  } catch (err) {
    await nc.close();
    throw err;
  }
}

function watchServerErrors(nc: NatsConnection, report: (message: string) => void): void {
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') report(s.error.message);
  })().catch(() => undefined);
}

function isPermissionError(err: unknown): boolean {
  return /permissions violation/i.test(String((err as Error)?.message));
}

// Node's TLS errors carry these codes; the client's own say "tls" in their message.
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|CERT_|SELF_SIGNED|DEPTH_ZERO|HOSTNAME_MISMATCH)/;

function connectFailure(cause: unknown, url: string, security: NatsSecurity): SluiceError {
  const err = cause as Error & { code?: unknown };
  const message = String(err?.message);
  const details = { url, auth: security.auth, tls: security.tls };
  if (err?.name === 'AuthorizationError' || /authorization violation|authentication/i.test(message)) {
    const as = security.auth === 'none' ? 'without credentials' : `as ${security.who}`;
    return new SluiceError(
      'SLUICE_NATS_AUTH',
      `NATS at ${url} refused the connection ${as}: ${message}. Check the credentials against the server's authorization (docs/nats-security.md)`,
      { cause, details },
    );
  }
  if ((typeof err?.code === 'string' && TLS_CODE.test(err.code)) || /\btls\b/i.test(message)) {
    const hint = /not support 'tls'/.test(message)
      ? 'the server does not offer TLS: remove nats.tls* or enable tls {} on the server'
      : /verify|self.signed|issuer/i.test(message)
        ? 'the server certificate is not signed by a trusted CA: set nats.tlsCaFile to the CA that signed it'
        : /altname|hostname|ip does not match/i.test(message)
          ? 'the server certificate does not name the host in nats.url'
          : 'check nats.tls*, and that both sides agree on TLS (and on nats.tlsHandshakeFirst)';
    return new SluiceError('SLUICE_NATS_TLS', `TLS to NATS at ${url} failed: ${message.trim()}; ${hint}`, {
      cause,
      details,
    });
  }
  // A server that refuses the client certificate of a TLS 1.3 handshake just closes the connection:
  // the client sees only a timeout.
  const tlsHint = security.tls
    ? ' (with TLS, also what a refused or missing client certificate looks like)'
    : '';
  return new SluiceError('SLUICE_NATS_CONNECT', `cannot connect to NATS at ${url}: ${message}${tlsHint}`, {
    cause,
    details,
  });
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
