import { mkdir, open, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SluiceError } from '@sluice/core';
import { freePort } from './free-port.js';
import {
  describeExit,
  findBinary,
  killServer,
  pollReady,
  readTail,
  spawnServer,
  stopServer,
} from './process.js';
import type { EmbeddedServer } from './process.js';

/** Options for {@link startNatsServer}. */
export interface StartNatsOptions {
  /** JetStream store directory (`-sd`); created when missing. */
  dataDir: string;
  /** Client port. @default a free port picked at start */
  port?: number;
  /** Address to listen on. @default '127.0.0.1' */
  host?: string;
  /** Monitoring HTTP port (`-m`, serves `/varz`, `/jsz`). @default none */
  monitorPort?: number;
  /** File that receives the server's output (appended). @default `<dataDir>/nats-server.log` */
  logFile?: string;
  /**
   * A nats-server configuration file (`-c`) for what has no flag — authorization, accounts, TLS. The
   * flags above still win over its `listen`, `port` and `jetstream` settings. @default none
   */
  configFile?: string;
  /** Path of the nats-server executable. @default found in PATH, /usr/sbin or /usr/local/sbin */
  binary?: string;
  /** How long to wait for the server to accept connections, in milliseconds. @default 10000 */
  readyTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL, in milliseconds. @default 10000 */
  stopTimeoutMs?: number;
}

/** A running nats-server with JetStream, started by {@link startNatsServer}. */
export interface EmbeddedNats extends EmbeddedServer {
  /** Client URL, e.g. `nats://127.0.0.1:41234`. */
  readonly url: string;
  /** Client port. */
  readonly port: number;
  /** Monitoring URL when `monitorPort` was given, e.g. `http://127.0.0.1:41235`. */
  readonly monitorUrl: string | undefined;
}

// nats-server 2.x logs this line once the client listener is accepting; seeing it in *our* log also
// proves that our process bound the port, not some other server that grabbed it after freePort().
const READY_LINE = 'Server is ready';

/**
 * Starts a nats-server with JetStream enabled (`-js -sd <dataDir>`) and waits until it accepts
 * client connections.
 *
 * @throws SluiceError `SLUICE_EMBEDDED_BINARY_MISSING` when nats-server is not installed.
 * @throws SluiceError `SLUICE_EMBEDDED_START_FAILED` when it exits or is not ready within
 *   `readyTimeoutMs`; the message ends with the tail of its log.
 */
export async function startNatsServer(opts: StartNatsOptions): Promise<EmbeddedNats> {
  const binary = await findBinary(['nats-server'], opts.binary);
  if (binary === undefined) {
    throw new SluiceError(
      'SLUICE_EMBEDDED_BINARY_MISSING',
      `nats-server not found${opts.binary ? ` at ${opts.binary}` : ' in PATH, /usr/sbin or /usr/local/sbin'}; ` +
        'install it with `apt-get install nats-server` (Debian/Ubuntu) or from https://github.com/nats-io/nats-server/releases',
      { details: { binary: opts.binary ?? 'nats-server', package: 'nats-server' } },
    );
  }
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const dataDir = resolve(opts.dataDir);
  const logFile = resolve(opts.logFile ?? join(dataDir, 'nats-server.log'));
  await mkdir(dataDir, { recursive: true, mode: 0o700 });

  const args = [
    ...(opts.configFile !== undefined ? ['-c', resolve(opts.configFile)] : []),
    ...['-a', host, '-p', String(port), '-js', '-sd', dataDir],
  ];
  if (opts.monitorPort !== undefined) args.push('-m', String(opts.monitorPort));
  const logOffset = await stat(logFile).then(
    (s) => s.size,
    () => 0,
  );
  const server = await spawnServer(binary, args, logFile);

  const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
  const { state } = await pollReady(
    server,
    () => logContains(logFile, logOffset, READY_LINE),
    readyTimeoutMs,
  );
  if (state !== 'ready' || server.child.pid === undefined) {
    await killServer(server).catch(() => undefined);
    const why =
      state === 'timeout' ? `was not ready within ${readyTimeoutMs} ms` : describeExit(server.exit());
    throw new SluiceError(
      'SLUICE_EMBEDDED_START_FAILED',
      `nats-server on ${host}:${port} ${why}; last lines of ${logFile}:\n${await readTail(logFile)}`,
      { details: { binary, args, logFile } },
    );
  }

  const stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
  const stop = (): Promise<void> => stopServer(server, stopTimeoutMs);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `nats://${urlHost}:${port}`,
    port,
    monitorUrl: opts.monitorPort === undefined ? undefined : `http://${urlHost}:${opts.monitorPort}`,
    pid: server.child.pid,
    dataDir,
    logFile,
    stop,
    kill: () => killServer(server),
    [Symbol.asyncDispose]: stop,
  };
}

async function logContains(file: string, offset: number, needle: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.max(0, size - offset));
    await handle.read(buffer, 0, buffer.length, offset);
    return buffer.includes(needle);
  } finally {
    await handle.close();
  }
}
