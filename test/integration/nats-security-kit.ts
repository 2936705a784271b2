import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { nkeys } from '@nats-io/transport-node';
import { buildConfig, type NatsConfig } from '@sluice/core';
import { stringify } from 'yaml';
import { startNatsServer } from '@sluice/embedded';
import { makeTempDir, removeTempDir, trackPid, untrackPid } from '@sluice/test-harness';

// Servers with authorization, accounts or TLS for nats-security.test.ts: a configuration file written
// into a throwaway directory, certificates made with the openssl CLI, JWTs signed here with nkeys.

const run = promisify(execFile);

/** A throwaway directory; dispose removes it. */
export interface TempDir extends AsyncDisposable {
  readonly path: string;
}

export async function tempDir(): Promise<TempDir> {
  const path = await makeTempDir('nats-sec');
  return { path, [Symbol.asyncDispose]: () => removeTempDir(path) };
}

/** A nats-server started with a configuration file. */
export interface ConfiguredNats extends AsyncDisposable {
  readonly url: string;
  /** Everything the server logged so far. */
  log(): Promise<string>;
}

/**
 * Starts nats-server on a free port with JetStream and `conf` as its configuration file, written to
 * `dir`; relative `include`s resolve against `dir`. `env` is added to the server's environment, where
 * `$NAME` references in its configuration also look.
 */
export async function startConfiguredNats(
  dir: string,
  conf: string,
  env: Record<string, string> = {},
): Promise<ConfiguredNats> {
  const file = join(dir, `server-${Math.random().toString(36).slice(2)}.conf`);
  await writeFile(file, conf);
  // The server inherits this process's environment when it is spawned; the variables are set for
  // that moment only (tests in a file run one at a time).
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  try {
    server = await startNatsServer({ dataDir: `${file}.js`, configFile: file });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  trackPid(server.pid);
  return {
    url: server.url,
    log: () => readFile(server.logFile, 'utf8'),
    async [Symbol.asyncDispose]() {
      await server.stop();
      untrackPid(server.pid);
    },
  };
}

/** The `nats` section sluice builds from `nats` (defaults filled, validated). */
export function natsConfig(nats: Record<string, unknown>): NatsConfig {
  return buildConfig(stringify({ nats }), {}).nats;
}

/** PEM files: a CA, a server certificate for `serverIp` and a client certificate, all signed by it. */
export interface Certificates {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir, timeout: 30_000 });
}

/** Makes a CA and the certificates it signs in `dir` (names prefixed with `name`). */
export async function makeCertificates(dir: string, name: string, serverIp: string): Promise<Certificates> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const f = (suffix: string): string => join(dir, `${name}-${suffix}`);
  await openssl(dir, [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '2',
    '-subj',
    `/CN=${name} test CA`,
  ]);
  const sign = async (who: string, cn: string, ext: string): Promise<void> => {
    await openssl(dir, [
      'req',
      ...ec,
      '-keyout',
      f(`${who}.key`),
      '-out',
      f(`${who}.csr`),
      '-subj',
      `/CN=${cn}`,
    ]);
    await writeFile(f(`${who}.ext`), ext);
    await openssl(dir, [
      'x509',
      '-req',
      '-in',
      f(`${who}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`${who}.pem`),
      '-days',
      '2',
      '-extfile',
      f(`${who}.ext`),
    ]);
  };
  await sign('server', serverIp, `subjectAltName=IP:${serverIp}\nextendedKeyUsage=serverAuth\n`);
  await sign('client', 'sluice-client', 'extendedKeyUsage=clientAuth\n');
  return {
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
  };
}

type KeyPair = ReturnType<typeof nkeys.createUser>;

/** A NATS JWT (`ed25519-nkey`) for `claims`, signed by `issuer`. */
function signJwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64url');
  const claims: Record<string, unknown> = {
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    nats: { ...nats, version: 2 },
  };
  claims.jti = createHash('sha256').update(JSON.stringify(claims)).digest('base64url');
  const signed = `${b64(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }))}.${b64(JSON.stringify(claims))}`;
  return `${signed}.${b64(issuer.sign(new TextEncoder().encode(signed)))}`;
}

const UNLIMITED = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
};

/** Operator mode: an operator, a system account, and one account with JetStream, preloaded in memory. */
export interface Operator {
  /** The server configuration lines (operator, system account, memory resolver). */
  readonly conf: string;
  /** A `.creds` file for a new user of the account. */
  userCreds(name: string): string;
}

export function makeOperator(): Operator {
  const operator = nkeys.createOperator();
  const system = nkeys.createAccount();
  const account = nkeys.createAccount();
  const operatorJwt = signJwt(operator, operator.getPublicKey(), 'sluice-test', { type: 'operator' });
  const systemJwt = signJwt(operator, system.getPublicKey(), 'SYS', { type: 'account', limits: UNLIMITED });
  const accountJwt = signJwt(operator, account.getPublicKey(), 'sluice', {
    type: 'account',
    limits: { ...UNLIMITED, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
  });
  const conf = [
    `operator: ${operatorJwt}`,
    `system_account: ${system.getPublicKey()}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  ${system.getPublicKey()}: ${systemJwt}`,
    `  ${account.getPublicKey()}: ${accountJwt}`,
    '}',
    '',
  ].join('\n');
  return {
    conf,
    userCreds(name) {
      const user = nkeys.createUser();
      const jwt = signJwt(account, user.getPublicKey(), name, {
        type: 'user',
        pub: {},
        sub: {},
        subs: -1,
        data: -1,
        payload: -1,
      });
      const seed = new TextDecoder().decode(user.getSeed());
      return [
        '-----BEGIN NATS USER JWT-----',
        jwt,
        '------END NATS USER JWT------',
        '',
        '************************* IMPORTANT *************************',
        'NKEY Seed printed below can be used to sign and prove identity.',
        '',
        '-----BEGIN USER NKEY SEED-----',
        seed,
        '------END USER NKEY SEED------',
        '',
      ].join('\n');
    },
  };
}
