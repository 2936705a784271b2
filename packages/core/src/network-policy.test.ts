import { describe, expect, it } from 'vitest';
import type { ConfigProblem } from './config.js';
import { problemsOf } from './config.fixture.js';
import { buildConfig } from './config.js';
import { NetworkPolicy, parseNetwork } from './network-policy.js';

const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;

// Every literal spelling the issue and the policy name, with the rule that must refuse it.
const BLOCKED: readonly [url: string, reason: RegExp][] = [
  ['http://127.0.0.1/', /loopback/],
  ['http://2130706433/', /loopback/],
  ['http://0x7f.1/', /loopback/],
  ['http://017700000001/', /loopback/],
  ['http://0x7f000001/', /loopback/],
  ['http://127.1/', /loopback/],
  ['http://0177.0.0.1/', /loopback/],
  ['http://%31%32%37.0.0.1/', /loopback/],
  ['http://127.0.0.1./', /loopback/],
  ['http://127.255.255.254:8080/x', /loopback/],
  ['http://[::1]/', /loopback/],
  ['http://[::ffff:127.0.0.1]/', /the IPv4-mapped form of 127\.0\.0\.1: loopback/],
  ['http://[::ffff:7f00:1]/', /the IPv4-mapped form of 127\.0\.0\.1: loopback/],
  ['http://[0:0:0:0:0:ffff:127.0.0.1]/', /IPv4-mapped/],
  ['http://[::ffff:a9fe:a9fe]/', /the IPv4-mapped form of 169\.254\.169\.254: link-local/],
  ['http://[::ffff:0:7f00:1]/', /IPv4-translated form of 127\.0\.0\.1/],
  ['http://[::127.0.0.1]/', /IPv4-compatible form of 127\.0\.0\.1/],
  ['http://[::10.0.0.1]/', /IPv4-compatible form of 10\.0\.0\.1: private/],
  ['http://[64:ff9b::7f00:1]/', /NAT64 form of 127\.0\.0\.1: loopback/],
  ['http://[64:ff9b::10.1.2.3]/', /NAT64 form of 10\.1\.2\.3: private/],
  ['http://[64:ff9b:1::8.8.8.8]/', /local-use NAT64/],
  ['http://[2002:7f00:1::1]/', /6to4 form of 127\.0\.0\.1: loopback/],
  ['http://[2002:a9fe:a9fe::]/', /6to4 form of 169\.254\.169\.254/],
  // Teredo: server 65.54.227.120 (public), client 127.0.0.1 stored inverted (80ff:fffe).
  ['http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', /Teredo form of 127\.0\.0\.1: loopback/],
  ['http://[2001:0:a00:1::1]/', /Teredo form of 10\.0\.0\.1: private/],
  ['http://localhost/', /loopback/],
  ['http://LOCALHOST./', /loopback/],
  ['http://hooks.localhost:3000/', /loopback/],
  ['http://0/', /unspecified/],
  ['http://0.0.0.0/', /unspecified/],
  ['http://0.1.2.3/', /unspecified/],
  ['http://[::]/', /unspecified/],
  ['http://10.0.0.1/', /private/],
  ['http://172.16.0.1/', /private/],
  ['http://172.31.255.255/', /private/],
  ['http://192.168.1.1/', /private/],
  ['http://169.254.169.254/latest/meta-data/', /cloud metadata/],
  ['http://169.254.0.1/', /link-local/],
  ['http://[fe80::1]/', /link-local/],
  ['http://[febf::1]/', /link-local/],
  ['http://100.64.0.1/', /carrier-grade NAT/],
  ['http://100.127.255.255/', /carrier-grade NAT/],
  ['http://255.255.255.255/', /broadcast/],
  ['http://224.0.0.1/', /multicast/],
  ['http://239.255.255.250/', /multicast/],
  ['http://[ff02::1]/', /multicast/],
  ['http://192.0.0.8/', /reserved/],
  ['http://192.0.2.1/', /reserved/],
  ['http://198.51.100.7/', /reserved/],
  ['http://203.0.113.9/', /reserved/],
  ['http://198.18.0.1/', /reserved/],
  ['http://240.0.0.1/', /reserved/],
  ['http://[2001:db8::1]/', /reserved/],
  ['http://[2001:2::1]/', /benchmarking/],
  ['http://[fc00::1]/', /unique-local/],
  ['http://[fd12:3456::1]/', /unique-local/],
  ['http://[fec0::1]/', /site-local/],
  ['http://[100::1]/', /discard/],
  ['http://[4000::1]/', /unassigned/],
];

const PUBLIC: readonly string[] = [
  'http://8.8.8.8/',
  'https://1.1.1.1:8443/hooks?x=1',
  'http://172.15.255.255/',
  'http://172.32.0.1/',
  'http://100.63.255.255/',
  'http://100.128.0.1/',
  'http://169.253.255.255/',
  'http://11.0.0.1/',
  'https://[2606:4700:4700::1111]/',
  'http://[::ffff:8.8.8.8]/',
  'http://[64:ff9b::8.8.8.8]/',
  'http://[2002:808:808::1]/',
  'https://hooks.example.com/sluice',
  'https://billing.internal/hooks',
];

describe('NetworkPolicy.checkUrl', () => {
  const policy = new NetworkPolicy();

  it.each(BLOCKED)('refuses %s (%s)', (url, reason) => {
    const v = policy.checkUrl(url);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.rule).toBe('address');
    expect(v.message).toMatch(reason);
    expect(v.message).toMatch(/allowNetworks/);
  });

  it.each(PUBLIC)('allows %s', (url) => {
    expect(policy.checkUrl(url)).toMatchObject({ ok: true });
  });

  it('normalises the host before judging it, and reports the literal it connects to', () => {
    const v = policy.checkUrl('http://0x08.0x08.2056/');
    expect(v).toMatchObject({ ok: true, host: '8.8.8.8' });
    expect(v.ok && v.literal?.toString()).toBe('8.8.8.8');
    expect(policy.checkUrl('http://[::ffff:8.8.8.8]/')).toMatchObject({ ok: true, host: '::ffff:808:808' });
    expect(policy.checkUrl('https://hooks.example.com./')).toMatchObject({
      ok: true,
      host: 'hooks.example.com.',
    });
    expect(policy.checkUrl('https://hooks.example.com./')).not.toHaveProperty('literal');
  });

  it.each([
    ['ftp://example.com/x', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['gopher://example.com/', 'scheme'],
    ['ws://example.com/', 'scheme'],
    ['http://user:pass@example.com/', 'credentials'],
    ['https://user@example.com/', 'credentials'],
    ['https://:secret@example.com/', 'credentials'],
    ['not a url', 'invalid'],
    ['http://[fe80::1%25eth0]/', 'invalid'],
  ])('refuses %s by the %s rule', (url, rule) => {
    expect(policy.checkUrl(url)).toMatchObject({ ok: false, rule });
  });

  it('suggests the narrowest network that would allow the address: for IPv6 forms, the embedded IPv4', () => {
    expect(policy.checkUrl('http://[::ffff:7f00:1]/')).toMatchObject({
      message: /add e\.g\. 127\.0\.0\.1\/32 to/,
    });
    expect(policy.checkUrl('http://[fd00::5]/')).toMatchObject({ message: /add e\.g\. fd00::5\/128 to/ });
    expect(policy.check('::ffff:10.1.2.3')).toMatchObject({ allowed: false, allowWith: '10.1.2.3/32' });
  });

  it('never repeats the password of a refused URL', () => {
    const v = policy.checkUrl('http://admin:hunter2@127.0.0.1/');
    expect(JSON.stringify(v)).not.toContain('hunter2');
  });
});

describe('NetworkPolicy allow-lists', () => {
  it('allows an IPv4 network, its IPv4-mapped and NAT64 forms, and nothing next to it', () => {
    const p = new NetworkPolicy(['127.0.0.1/32', '10.20.0.0/16']);
    expect(p.checkUrl('http://127.0.0.1:8080/')).toMatchObject({ ok: true });
    expect(p.checkUrl('http://2130706433/')).toMatchObject({ ok: true });
    expect(p.checkUrl('http://[::ffff:127.0.0.1]/')).toMatchObject({ ok: true });
    expect(p.checkUrl('http://127.0.0.2/')).toMatchObject({ ok: false, rule: 'address' });
    expect(p.checkUrl('http://[::1]/')).toMatchObject({ ok: false, rule: 'address' });
    // localhost may resolve to ::1 as well, which this list does not allow.
    expect(p.checkUrl('http://localhost/')).toMatchObject({ ok: false, rule: 'address' });
    expect(p.check('10.20.255.1')).toMatchObject({ allowed: true });
    expect(p.check('64:ff9b::a14:1')).toMatchObject({ allowed: true });
    expect(p.check('10.21.0.1')).toMatchObject({ allowed: false, reason: 'private (RFC 1918)' });
    expect(p.check('169.254.169.254')).toMatchObject({ allowed: false });
  });

  it('allows an IPv6 network and nothing next to it', () => {
    const p = new NetworkPolicy(['fd00:1234::/32', '::1/128']);
    expect(p.checkUrl('http://[fd00:1234::9]/')).toMatchObject({ ok: true });
    expect(p.checkUrl('http://[fd00:1235::9]/')).toMatchObject({ ok: false });
    expect(p.checkUrl('http://[::1]:3000/')).toMatchObject({ ok: true });
    expect(p.checkUrl('http://127.0.0.1/')).toMatchObject({ ok: false });
    expect(new NetworkPolicy(['::1/128', '127.0.0.0/8']).checkUrl('http://localhost/')).toMatchObject({
      ok: true,
    });
  });

  it('lets the metadata address through only when allowed by itself', () => {
    expect(new NetworkPolicy(['169.254.169.254/32']).check('169.254.169.254')).toMatchObject({
      allowed: true,
    });
    expect(new NetworkPolicy(['169.254.169.254/32']).check('169.254.169.253')).toMatchObject({
      allowed: false,
    });
  });

  it('judges resolved addresses as DNS gives them', () => {
    const p = new NetworkPolicy();
    expect(p.check('93.184.215.14')).toEqual({ allowed: true, address: '93.184.215.14' });
    expect(p.check('::ffff:127.0.0.2')).toMatchObject({ allowed: false, reason: /IPv4-mapped.*loopback/ });
    expect(p.check('169.254.169.254')).toMatchObject({ allowed: false, reason: /metadata/ });
    expect(p.check('not-an-address')).toMatchObject({ allowed: false, reason: 'not an IP address' });
  });

  it.each([
    '10.0.0.0',
    '10.0.0.0/33',
    'fd00::/129',
    'bogus',
    '0x0a.0.0.0/8',
    '10/8',
    ' 10.0.0.0/8',
    'fe80::/10%eth0',
  ])('parseNetwork refuses %j, and so does the policy', (text) => {
    expect(parseNetwork(text)).toBeUndefined();
    expect(() => new NetworkPolicy([text])).toThrow(TypeError);
  });
});

describe('network policy in the configuration (endpoint creation)', () => {
  const endpointsYaml = (url: string, extra = ''): string =>
    `endpoints:\n  - id: e\n    url: "${url}"\n    secret: ${SECRET}\n${extra}`;

  it.each(BLOCKED)('config with %s → SLUICE_ENDPOINT_URL_BLOCKED on its url', (url) => {
    const problems = problemsOf(endpointsYaml(url));
    expect(problems).toEqual([
      {
        path: '/endpoints/0/url',
        kind: 'blocked',
        message: expect.stringMatching(/^SLUICE_ENDPOINT_URL_BLOCKED: .*allowNetworks/),
      },
    ]);
  });

  it.each(['http://user:pass@example.com/', 'ftp://example.com/x', 'file:///etc/passwd'])(
    'config with %s → SLUICE_ENDPOINT_URL_BLOCKED on its url',
    (url) => {
      expect(problemsOf(endpointsYaml(url))).toEqual([
        {
          path: '/endpoints/0/url',
          kind: 'format',
          message: expect.stringMatching(/^SLUICE_ENDPOINT_URL_BLOCKED: /),
        },
      ]);
    },
  );

  it('names the code in the error message a person reads', () => {
    expect(() => buildConfig(endpointsYaml('http://0x7f.1/'), {})).toThrow(/SLUICE_ENDPOINT_URL_BLOCKED/);
  });

  it('accepts a blocked address allowed for the endpoint or for every endpoint', () => {
    const own = buildConfig(endpointsYaml('http://127.0.0.1:9/', '    allowNetworks: [127.0.0.1/32]\n'), {});
    expect(own.endpoints[0]!.allowNetworks).toEqual(['127.0.0.1/32']);
    const shared = buildConfig(
      `deliverer: { allowNetworks: ["10.0.0.0/8", "::1/128"] }\n${endpointsYaml('http://[::1]:9/')}`,
      {},
    );
    expect(shared.deliverer.allowNetworks).toEqual(['10.0.0.0/8', '::1/128']);
    // The allow-list of one endpoint does not carry over to another.
    const problems = problemsOf(
      `endpoints:\n  - { id: a, url: "http://10.0.0.1/", secret: ${SECRET}, allowNetworks: [10.0.0.0/8] }\n` +
        `  - { id: b, url: "http://10.0.0.1/", secret: ${SECRET} }\n`,
    );
    expect(problems.map((p) => p.path)).toEqual(['/endpoints/1/url']);
  });

  it('reports every allowNetworks entry that is not a CIDR, with its path', () => {
    const problems = problemsOf(
      'deliverer: { allowNetworks: ["10.0.0.0/8", "10.0.0.1", "fd00::/200"] }\n' +
        endpointsYaml('https://e.example/', '    allowNetworks: ["bogus"]\n'),
    );
    const at = (p: ConfigProblem): [string, string] => [p.path, p.kind];
    expect(problems.map(at)).toEqual([
      ['/deliverer/allowNetworks/1', 'format'],
      ['/deliverer/allowNetworks/2', 'format'],
      ['/endpoints/0/allowNetworks/0', 'format'],
    ]);
    expect(problems[0]!.message).toMatch(/not a CIDR/);
  });

  it('takes allowNetworks and dnsServers from the environment', () => {
    const c = buildConfig('', {
      SLUICE_DELIVERER_ALLOW_NETWORKS: '10.0.0.0/8,fd00::/8',
      SLUICE_DELIVERER_DNS_SERVERS: '127.0.0.1:5353',
    });
    expect(c.deliverer.allowNetworks).toEqual(['10.0.0.0/8', 'fd00::/8']);
    expect(c.deliverer.dnsServers).toEqual(['127.0.0.1:5353']);
  });

  it('accepts DNS servers as ip, ip:port, ipv6 and [ipv6]:port; refuses the rest', () => {
    const ok = ['127.0.0.1', '127.0.0.1:5353', '::1', '[::1]:5353', '[fd00::53]'];
    expect(buildConfig(`deliverer: { dnsServers: ${JSON.stringify(ok)} }`, {}).deliverer.dnsServers).toEqual(
      ok,
    );
    expect(buildConfig('', {}).deliverer.dnsServers).toBeUndefined();
    const bad = ['localhost:53', '127.0.0.1:0', '127.0.0.1:70000', '[127.0.0.1]:53', 'dns.example', '1.2.3'];
    const problems = problemsOf(`deliverer: { dnsServers: ${JSON.stringify(bad)} }`);
    expect(problems.map((p) => p.path)).toEqual(bad.map((_, j) => `/deliverer/dnsServers/${j}`));
  });
});
