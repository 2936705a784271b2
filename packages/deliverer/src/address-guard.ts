import { promises as dns } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { SluiceError, blockedMessage, type AddressVerdict, type NetworkPolicy } from '@sluice/core';

// The connect-time half of the network policy (docs/network-policy.md): a `lookup` for net.connect
// and tls.connect that resolves the host, checks every address, and hands the socket exactly the
// addresses it checked. A literal-address host never reaches a lookup (net.connect skips it), so the
// dispatcher checks those before the request.

/** One address of a host name, as resolvers give it. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to every address it has; rejects like node:dns (`ENOTFOUND`, …). */
export type Resolve = (host: string) => Promise<ResolvedAddress[]>;

/** The system resolver (`getaddrinfo`: /etc/hosts, nsswitch), every address in the order it gives. */
export const systemResolve: Resolve = async (host) => {
  const all = await dns.lookup(host, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** How long one query to a configured DNS server may take, ms, and how often it is sent. */
const QUERY_TIMEOUT_MS = 2_000;
const QUERY_TRIES = 2;

/**
 * A resolver asking `servers` (`ip`, `ip:port`, `[ipv6]:port`: config `deliverer.dnsServers`) for A and
 * AAAA records at once. It fails only when neither family has an answer.
 */
export function serverResolve(servers: readonly string[]): Resolve {
  const resolver = new dns.Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });
  resolver.setServers([...servers]);
  return async (host) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    const found: ResolvedAddress[] = [
      ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
    ];
    if (found.length > 0) return found;
    throw v4.status === 'rejected' ? v4.reason : v6.status === 'rejected' ? v6.reason : notFound(host);
  };
}

/** The error of a refused connection: code `SLUICE_ENDPOINT_URL_BLOCKED`, message names rule and address. */
export function blockedError(host: string, verdict: AddressVerdict, policy: NetworkPolicy): SluiceError {
  const address = verdict.address;
  return new SluiceError('SLUICE_ENDPOINT_URL_BLOCKED', blockedMessage(host, verdict, policy.allowNetworks), {
    details: { host, address, reason: verdict.allowed ? undefined : verdict.reason },
  });
}

/**
 * A `lookup` for net.connect / tls.connect: resolves `hostname` with `resolve`, refuses the connection
 * when **any** address is blocked by `policy` (a mixed answer is refused as a whole: which address a
 * client ends up on is not its choice to make safe), and otherwise passes the checked addresses on.
 * Node then connects to exactly those — there is no second lookup to be answered differently. With
 * `all: true` (net's `autoSelectFamily`, the default on Node 20) every address is returned, else the
 * first one of the requested family.
 */
export function guardedLookup(policy: NetworkPolicy, resolve: Resolve): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    resolve(hostname).then(
      (addresses) => {
        for (const a of addresses) {
          const verdict = policy.check(a.address);
          if (!verdict.allowed) return callback(blockedError(hostname, verdict, policy), '', 0);
        }
        const family = familyOf(options.family);
        const wanted = family === undefined ? addresses : addresses.filter((a) => a.family === family);
        const first = wanted[0];
        if (first === undefined) return callback(notFound(hostname), '', 0);
        if (options.all === true)
          return callback(
            null,
            wanted.map((a): LookupAddress => ({ address: a.address, family: a.family })),
          );
        return callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

function familyOf(family: LookupOptions['family']): 4 | 6 | undefined {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return undefined;
}

function notFound(host: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host });
}
