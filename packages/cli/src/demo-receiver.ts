import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { secretKey, verify } from '@sluice/deliverer';

/** A running demo receiver. */
export interface DemoReceiver {
  /** `http://127.0.0.1:<port>/webhook`. */
  readonly url: string;
  readonly received: number;
  close(): Promise<void>;
}

/** Options of {@link startDemoReceiver}. */
export interface DemoReceiverOptions {
  /** The `whsec_` secret the endpoint signs with. */
  readonly secret: string;
  /** Where each verified event is printed. */
  readonly print: (line: string) => void;
  readonly now?: () => number;
}

const MAX_BODY = 2 * 1024 * 1024;

/**
 * A small HTTP receiver for the quick start: verifies the Standard Webhooks signature of each POST
 * and prints the event it carries, one line each. Answers 204 when verified, 401 otherwise.
 */
export async function startDemoReceiver(options: DemoReceiverOptions): Promise<DemoReceiver> {
  const key = secretKey(options.secret);
  const now = options.now ?? Date.now;
  let received = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        return;
      }
      const body = Buffer.concat(chunks);
      const h = req.headers;
      const result = verify(
        key,
        {
          id: str(h['webhook-id']),
          timestamp: str(h['webhook-timestamp']),
          signature: str(h['webhook-signature']),
        },
        body,
        Math.floor(now() / 1000),
      );
      if (result !== 'ok') {
        options.print(`demo receiver: rejected a request (${result})`);
        res.writeHead(401).end();
        return;
      }
      received++;
      options.print(describeEvent(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhook`,
    get received() {
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function str(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Two lines for a verified event: its type, subject and id, then what it carries — the row for a row
 * change (`after`, or `before` for a delete), else its `data` as sent (HTTP ingest, object events).
 */
export function describeEvent(body: Buffer): string {
  let ev: { id?: unknown; type?: unknown; subject?: unknown; data?: unknown; data_base64?: unknown };
  try {
    ev = JSON.parse(body.toString('utf8')) as typeof ev;
  } catch {
    return `✔ verified a non-JSON body of ${body.length} bytes`;
  }
  const data = ev.data as { after?: unknown; before?: unknown } | undefined;
  const isRow = typeof data === 'object' && data !== null && ('after' in data || 'before' in data);
  const shown = isRow ? (data.after ?? data.before) : (ev.data ?? ev.data_base64 ?? null);
  const subject = typeof ev.subject === 'string' ? `${ev.subject} ` : '';
  return `✔ verified ${String(ev.type)} ${subject}${String(ev.id)}\n    ${JSON.stringify(shown)}`;
}
