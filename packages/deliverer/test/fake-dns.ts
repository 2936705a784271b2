import dns2 from 'dns2';
import ipaddr from 'ipaddr.js';

// A DNS server for tests: UDP on 127.0.0.1, a free port, answering A and AAAA queries from a table the
// test changes as it goes (config `deliverer.dnsServers` points the deliverer at it). TTL 0.

const { Packet } = dns2;
const NXDOMAIN = 3;

/**
 * The addresses of a name: always the same, or by the number of A queries before this one (AAAA
 * queries get the answer of the latest A query; tests that change answers use IPv4 only).
 */
export type Answer = readonly string[] | ((n: number) => readonly string[]);

/** A running fake DNS server, from {@link startFakeDns}. */
export interface FakeDns extends AsyncDisposable {
  /** `127.0.0.1:<port>`, for `deliverer.dnsServers`. */
  readonly server: string;
  /** Sets (or replaces) what `name` resolves to; an address with `:` is an AAAA record, else an A record. */
  answer(name: string, addresses: Answer): void;
  /** A queries seen for `name` so far. */
  queries(name: string): number;
}

/** Starts the server; names without an answer get NXDOMAIN. */
export async function startFakeDns(): Promise<FakeDns> {
  const answers = new Map<string, Answer>();
  const counts = new Map<string, number>();
  const server = dns2.createUDPServer((request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const question = request.questions[0];
    const name = question?.name.toLowerCase().replace(/\.$/, '') ?? '';
    const answer = answers.get(name);
    if (question === undefined || answer === undefined) {
      response.header.rcode = NXDOMAIN;
      void send(response);
      return;
    }
    let n = counts.get(name) ?? 0;
    if (question.type === Packet.TYPE.A) counts.set(name, n + 1);
    else n = Math.max(0, n - 1); // the AAAA query of the same lookup
    const addresses = typeof answer === 'function' ? answer(n) : answer;
    for (const address of addresses) {
      const v6 = address.includes(':');
      if (question.type !== (v6 ? Packet.TYPE.AAAA : Packet.TYPE.A)) continue;
      response.answers.push(
        Packet.createResourceFromQuestion(question, {
          ttl: 0,
          // dns2 encodes AAAA from eight hex groups only.
          address: v6 ? ipaddr.IPv6.parse(address).toNormalizedString() : address,
        }),
      );
    }
    void send(response);
  });
  await server.listen(0, '127.0.0.1');
  const { port } = server.address();
  return {
    server: `127.0.0.1:${port}`,
    answer: (name, addresses) => answers.set(name.toLowerCase(), addresses),
    queries: (name) => counts.get(name.toLowerCase()) ?? 0,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
