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
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close((err) => {
        if (err) reject(err);
        else if (port === undefined) reject(new Error(`could not read the port bound on ${host}`));
        else resolve(port);
      });
    });
  });
}
