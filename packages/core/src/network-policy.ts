import ipaddr from 'ipaddr.js';

// Which addresses a webhook may be sent to. Ranges come from ipaddr.js (its special-purpose tables,
// RFC 6890 and successors); nothing here does CIDR arithmetic of its own. See docs/network-policy.md.

/** An IPv4 or IPv6 address as ipaddr.js parses it. */
export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/** What {@link NetworkPolicy.check} decided about one address. */
export type AddressVerdict =
  | { readonly allowed: true; readonly address: string }
  | {
      readonly allowed: false;
      readonly address: string;
      /** Why, for people: `loopback`, `private (RFC 1918)`, `the IPv4-mapped form of 127.0.0.1: loopback`, … */
      readonly reason: string;
      /** The narrowest network that would allow it: the address itself, or the IPv4 address it embeds. */
      readonly allowWith: string;
    };

/** What {@link NetworkPolicy.checkUrl} decided about an endpoint URL. */
export type UrlVerdict =
  | {
      readonly ok: true;
      readonly url: URL;
      /** The host as connected to: a host name, or a literal address without brackets. */
      readonly host: string;
      /** Set when the host is a literal address (it is never looked up, so it is checked here). */
      readonly literal?: IpAddress;
    }
  | {
      readonly ok: false;
      /** Which rule refused the URL: `invalid`, `scheme`, `credentials` or `address`. */
      readonly rule: 'invalid' | 'scheme' | 'credentials' | 'address';
      /** Names the rule and how to satisfy it; never contains the URL's credentials. */
      readonly message: string;
    };

const REASONS: Readonly<Record<string, string>> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
  private: 'private (RFC 1918)',
  reserved: 'reserved or documentation',
  benchmarking: 'benchmarking',
  as112: 'AS112 sink',
  as112v6: 'AS112 sink',
  amt: 'AMT relay anycast',
  uniqueLocal: 'unique-local (fc00::/7)',
  deprecatedSiteLocal: 'site-local (fec0::/10)',
  discard: 'discard-only (100::/64)',
  orchid2: 'ORCHID',
  deprecatedOrchid: 'ORCHID',
  droneRemoteIdProtocolEntityTags: 'DRIP entity tags',
  segmentRouting: 'segment routing (5f00::/16)',
};

const METADATA = ipaddr.IPv4.parse('169.254.169.254');
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');
// RFC 8215 local-use NAT64 prefix: the translator is inside the operator's own network and where the
// IPv4 address sits depends on the prefix length it was configured with, so it cannot be unwrapped.
const LOCAL_NAT64 = ipaddr.IPv6.parseCIDR('64:ff9b:1::/48');

/**
 * Parses one `allowNetworks` entry: CIDR notation with a prefix length, IPv4 in four decimal parts
 * (`10.20.0.0/16`) or IPv6 (`fd00::/8`). Returns `undefined` for anything else (a bare address, a
 * zone id, `0x0a.0/8`).
 */
export function parseNetwork(text: string): [IpAddress, number] | undefined {
  if (text.includes('%')) return undefined;
  try {
    if (ipaddr.IPv4.isValidCIDRFourPartDecimal(text)) return ipaddr.IPv4.parseCIDR(text);
    if (text.includes(':') && ipaddr.IPv6.isValidCIDR(text)) return ipaddr.IPv6.parseCIDR(text);
  } catch {
    // not a network
  }
  return undefined;
}

/**
 * The network policy of one endpoint: an address is allowed when it is public unicast, or when it
 * falls in one of the allowed networks (`deliverer.allowNetworks` plus the endpoint's own). Immutable
 * and cheap to query; build one per endpoint, not per request.
 */
export class NetworkPolicy {
  readonly #allow: readonly [IpAddress, number][];
  /** The allowed networks as given, for messages and cache keys. */
  readonly allowNetworks: readonly string[];

  /**
   * @param allowNetworks CIDRs allowed besides public unicast addresses; each must pass
   *   {@link parseNetwork} (config validation guarantees it).
   * @throws TypeError naming the first entry that is not a CIDR.
   */
  constructor(allowNetworks: readonly string[] = []) {
    this.allowNetworks = Object.freeze([...allowNetworks]);
    this.#allow = allowNetworks.map((text) => {
      const network = parseNetwork(text);
      if (network === undefined) throw new TypeError(`not a CIDR network: ${text}`);
      return network;
    });
  }

  /** Decides about one address (text as DNS or a URL gives it, or parsed). */
  check(address: string | IpAddress): AddressVerdict {
    let ip: IpAddress;
    try {
      ip = typeof address === 'string' ? ipaddr.parse(address) : address;
    } catch {
      return { allowed: false, address: String(address), reason: 'not an IP address', allowWith: 'none' };
    }
    const text = ip.toString();
    const blocked = this.#blocked(ip);
    return blocked === undefined
      ? { allowed: true, address: text }
      : { allowed: false, address: text, reason: blocked.reason, allowWith: hostNetwork(blocked.ip) };
  }

  /**
   * Checks an endpoint URL without resolving it: http or https only, no user name or password, and —
   * after the WHATWG parser normalised the host (`http://2130706433/`, `http://0x7f.1/` and
   * `http://[::ffff:7f00:1]/` all become literal addresses) — a literal address must be allowed.
   * `localhost` and `*.localhost` (RFC 6761) are checked as 127.0.0.1 and ::1, where they resolve.
   * Host names are otherwise checked when connecting, with every address they resolve to.
   */
  checkUrl(text: string): UrlVerdict {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return { ok: false, rule: 'invalid', message: 'not a URL' };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return {
        ok: false,
        rule: 'scheme',
        message: `the scheme ${url.protocol} is not delivered to: use http or https`,
      };
    if (url.username !== '' || url.password !== '')
      return {
        ok: false,
        rule: 'credentials',
        message: 'a user name or password in the URL is not allowed: authenticate with the signature',
      };
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const literal = literalAddress(host);
    const candidates = literal
      ? [literal]
      : isLocalhostName(host)
        ? [ipaddr.parse('127.0.0.1'), ipaddr.parse('::1')]
        : [];
    for (const ip of candidates) {
      const verdict = this.check(ip);
      if (!verdict.allowed)
        return { ok: false, rule: 'address', message: blockedMessage(host, verdict, this.allowNetworks) };
    }
    return literal ? { ok: true, url, host, literal } : { ok: true, url, host };
  }

  /** `undefined` when allowed, else why not and which address (the embedded one for IPv6 forms). */
  #blocked(ip: IpAddress): { reason: string; ip: IpAddress } | undefined {
    if (this.#allowed(ip)) return undefined;
    if (ip.kind() === 'ipv4') {
      const v4 = ip as ipaddr.IPv4;
      const range = v4.range();
      if (range === 'unicast') return undefined;
      if (range === 'linkLocal' && v4.match(METADATA, 32))
        return { reason: 'link-local (the cloud metadata service)', ip };
      return { reason: REASONS[range] ?? range, ip };
    }
    const v6 = ip as ipaddr.IPv6;
    if (v6.match(LOCAL_NAT64)) return { reason: 'local-use NAT64 (64:ff9b:1::/48)', ip };
    const embedded = embeddedIPv4(v6);
    if (embedded !== undefined) {
      for (const v4 of embedded.addresses) {
        const inner = this.#blocked(v4);
        if (inner !== undefined)
          return { reason: `the ${embedded.form} form of ${v4.toString()}: ${inner.reason}`, ip: inner.ip };
      }
      return undefined;
    }
    const range = v6.range();
    if (range === 'unicast')
      return v6.match(GLOBAL_UNICAST_V6) ? undefined : { reason: 'unassigned (outside 2000::/3)', ip };
    return { reason: REASONS[range] ?? range, ip };
  }

  #allowed(ip: IpAddress): boolean {
    return this.#allow.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));
  }
}

/**
 * The IPv4 addresses an IPv6 address stands for, when it is one of the forms that embed one: IPv4-mapped
 * (::ffff:0:0/96), IPv4-translated (::ffff:0:0:0/96, RFC 6145), IPv4-compatible (::/96, deprecated),
 * NAT64 well-known (64:ff9b::/96), 6to4 (2002::/16) and Teredo (2001::/32: server and client).
 */
function embeddedIPv4(v6: ipaddr.IPv6): { form: string; addresses: ipaddr.IPv4[] } | undefined {
  const p = v6.parts;
  const v4 = (hi: number, lo: number): ipaddr.IPv4 =>
    new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  const last = (): ipaddr.IPv4 => v4(p[6]!, p[7]!);
  const range = v6.range();
  if (range === 'ipv4Mapped') return { form: 'IPv4-mapped', addresses: [last()] };
  if (range === 'rfc6145') return { form: 'IPv4-translated', addresses: [last()] };
  if (range === 'rfc6052') return { form: 'NAT64', addresses: [last()] };
  if (range === '6to4') return { form: '6to4', addresses: [v4(p[1]!, p[2]!)] };
  // The Teredo client's address is stored inverted (RFC 4380 §4).
  if (range === 'teredo')
    return { form: 'Teredo', addresses: [v4(p[2]!, p[3]!), v4(~p[6]! & 0xffff, ~p[7]! & 0xffff)] };
  // ::/96 minus :: and ::1, which ipaddr.js names unspecified and loopback.
  if (range === 'unicast' && p.slice(0, 6).every((x) => x === 0))
    return { form: 'IPv4-compatible', addresses: [last()] };
  return undefined;
}

/** A literal address from a URL host (WHATWG-normalised), or `undefined` for a host name. */
function literalAddress(host: string): IpAddress | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) return ipaddr.IPv4.parse(host);
  if (host.includes(':') && ipaddr.IPv6.isValid(host)) return ipaddr.IPv6.parse(host);
  return undefined;
}

function isLocalhostName(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  return name === 'localhost' || name.endsWith('.localhost');
}

/** The message for a refused address: which rule, and how to allow it deliberately. */
export function blockedMessage(
  host: string,
  verdict: AddressVerdict,
  allowNetworks: readonly string[],
): string {
  if (verdict.allowed) return `${host} is allowed`;
  const via = host === verdict.address ? '' : ` (${host})`;
  const allowed = allowNetworks.length === 0 ? 'none' : allowNetworks.join(', ');
  return (
    `${verdict.address}${via} is ${verdict.reason}, not a public unicast address, and is in no allowed ` +
    `network (allowNetworks: ${allowed}); to deliver there on purpose, add e.g. ${verdict.allowWith} to ` +
    'endpoints[].allowNetworks or deliverer.allowNetworks'
  );
}

function hostNetwork(ip: IpAddress): string {
  return `${ip.toString()}/${ip.kind() === 'ipv4' ? 32 : 128}`;
}
