import { connect as natsConnect } from '@nats-io/transport-node';
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { startNatsServer } from '@sluice/embedded';
import type { EmbeddedNats } from '@sluice/embedded';
import { makeTempDir, removeTempDir, trackPid, untrackPid } from './leftovers.js';

/** A throwaway nats-server with JetStream, from {@link startNats}. */
export interface TestNats {
  /** Client URL, e.g. `nats://127.0.0.1:41234`; unchanged by {@link TestNats.restart}. */
  readonly url: string;
  /** Client port; unchanged by {@link TestNats.restart}. */
  readonly port: number;
  /** The throwaway JetStream store directory. */
  readonly dataDir: string;
  /** The running server; replaced by {@link TestNats.restart}. */
  readonly server: EmbeddedNats;
  /** Connects a client to this server; dispose closes it. */
  connect(opts?: Partial<NodeConnectionOptions>): Promise<NatsConnection>;
  /** SIGKILLs the server, for fault tests. */
  kill(): Promise<void>;
  /** Stops the server gracefully if it still runs, then starts it again on the same port and store. */
  restart(): Promise<void>;
  /** Closes the clients from {@link TestNats.connect}, stops the server and removes the directory. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a nats-server with JetStream on a free port in a fresh temporary directory, for one test.
 * Use as `await using nats = await startNats()`.
 */
export async function startNats(): Promise<TestNats> {
  const dataDir = await makeTempDir('nats');
  let server: EmbeddedNats;
  try {
    server = await startNatsServer({ dataDir });
  } catch (err) {
    await removeTempDir(dataDir);
    throw err;
  }
  trackPid(server.pid);
  const clients = new Set<NatsConnection>();
  const port = server.port;

  const stopServer = async (how: 'stop' | 'kill'): Promise<void> => {
    await server[how]();
    untrackPid(server.pid);
  };

  return {
    url: server.url,
    port,
    dataDir,
    get server() {
      return server;
    },
    async connect(opts = {}) {
      const nc = await natsConnect({ servers: server.url, ...opts });
      clients.add(nc);
      return nc;
    },
    kill: () => stopServer('kill'),
    async restart() {
      await stopServer('stop');
      server = await startNatsServer({ dataDir, port });
      trackPid(server.pid);
    },
    async [Symbol.asyncDispose]() {
      try {
        await Promise.allSettled([...clients].map((nc) => nc.close()));
        await stopServer('stop');
      } finally {
        await removeTempDir(dataDir);
      }
    },
  };
}
