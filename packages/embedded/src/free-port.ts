import { createServer } from 'node:net';

/**
 * Finds a TCP port that is free right now on `host`, by listening on port 0 and reading the port the
 * kernel picked. Another process may take it before the caller binds it; callers that start a server on
 * it must treat "address in use" as a start failure.
 *
 * @param host - The address to probe. @default '127.0.0.1'
 * @returns A port number in the ephemeral range.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return probe(0, host).then((port) => {
    if (port === undefined) throw new Error(`could not bind a port on ${host}`);
    return port;
  });
}

/**
 * `preferred` when it is free right now on `host`, else a free port: `sluice up` keeps its embedded
 * servers on the ports of the previous start, so URLs a user copied keep working.
 */
export async function preferredPort(preferred: number | undefined, host = '127.0.0.1'): Promise<number> {
  if (preferred !== undefined && preferred > 0 && (await probe(preferred, host)) !== undefined)
    return preferred;
  return freePort(host);
}

// Listens on `port` (0: any) and closes again; the bound port, or undefined when it was taken.
function probe(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' && port !== 0 ? resolve(undefined) : reject(err),
    );
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close((err) => (err ? reject(err) : resolve(bound)));
    });
  });
}
