import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import {
  credsAuthenticator,
  nkeyAuthenticator,
  nkeys,
  type NodeConnectionOptions,
} from '@nats-io/transport-node';
import type { NatsConfig } from './config-schema.js';
import { SluiceError } from './errors.js';

// Turns the `nats` section into the client's authentication and TLS options (docs/nats-security.md).
// Files are read here, before connecting, so that a missing or malformed one is named as such
// (SLUICE_NATS_CREDENTIALS) instead of surfacing as a refused connection.

/** How sluice authenticates to NATS, for messages; never holds a secret. */
export type NatsAuthKind = 'none' | 'user' | 'token' | 'nkey' | 'creds';

/** Connection options derived from the config, and a description of them safe to log. */
export interface NatsSecurity {
  readonly options: Pick<NodeConnectionOptions, 'user' | 'pass' | 'token' | 'authenticator' | 'tls'>;
  readonly auth: NatsAuthKind;
  /** E.g. `user "sluice-capture"`, `nkey UDXU…`, `creds file /etc/sluice/capture.creds`. */
  readonly who: string;
  readonly tls: boolean;
}

const encoder = new TextEncoder();

/**
 * Reads the credential and TLS files the `nats` section names and builds the client options.
 * @throws SluiceError `SLUICE_NATS_CREDENTIALS` when a file cannot be read or is not what it should be.
 */
export async function natsSecurity(config: NatsConfig): Promise<NatsSecurity> {
  const tls = await tlsOptions(config);
  const base = { tls: tls !== undefined };
  if (config.credsFile !== undefined) {
    const creds = await readCreds(config.credsFile);
    return {
      ...base,
      options: { authenticator: credsAuthenticator(creds), ...tlsPart(tls) },
      auth: 'creds',
      who: `creds file ${config.credsFile}`,
    };
  }
  if (config.nkeySeedFile !== undefined) {
    const seed = await readSeed(config.nkeySeedFile);
    const publicKey = nkeys.fromSeed(seed).getPublicKey();
    return {
      ...base,
      options: { authenticator: nkeyAuthenticator(seed), ...tlsPart(tls) },
      auth: 'nkey',
      who: `nkey ${publicKey}`,
    };
  }
  if (config.token !== undefined)
    return { ...base, options: { token: config.token, ...tlsPart(tls) }, auth: 'token', who: 'a token' };
  if (config.user !== undefined)
    return {
      ...base,
      options: { user: config.user, pass: config.pass ?? '', ...tlsPart(tls) },
      auth: 'user',
      who: `user "${config.user}"`,
    };
  return { ...base, options: tlsPart(tls), auth: 'none', who: 'no credentials' };
}

function tlsPart(tls: NodeConnectionOptions['tls']): Pick<NodeConnectionOptions, 'tls'> {
  return tls === undefined ? {} : { tls };
}

// The client reads the TLS files again at every (re)connection, so certificates renewed in place are
// picked up by the next reconnect; they are read here once to fail early and clearly.
async function tlsOptions(config: NatsConfig): Promise<NodeConnectionOptions['tls']> {
  const files = config.tlsCaFile ?? config.tlsCertFile ?? config.tlsKeyFile;
  if (!config.tls && files === undefined && !config.tlsHandshakeFirst) return undefined;
  const tls: NonNullable<NodeConnectionOptions['tls']> & TlsIdentityCheck = {};
  if (config.tlsHandshakeFirst) tls.handshakeFirst = true;
  if (config.tlsCaFile !== undefined) {
    const pem = await readText('nats.tlsCaFile', config.tlsCaFile);
    certificate('nats.tlsCaFile', config.tlsCaFile, pem);
    tls.caFile = config.tlsCaFile;
  }
  if (config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined) {
    const cert = certificate(
      'nats.tlsCertFile',
      config.tlsCertFile,
      await readText('nats.tlsCertFile', config.tlsCertFile),
    );
    const key = await readText('nats.tlsKeyFile', config.tlsKeyFile);
    let matches: boolean;
    try {
      matches = cert.checkPrivateKey(createPrivateKey(key));
    } catch (cause) {
      throw unusable(
        'nats.tlsKeyFile',
        config.tlsKeyFile,
        'is not an unencrypted PEM private key (encrypted keys are not supported)',
        cause,
      );
    }
    if (!matches)
      throw unusable(
        'nats.tlsKeyFile',
        config.tlsKeyFile,
        'is not the key of the certificate in nats.tlsCertFile',
      );
    tls.certFile = config.tlsCertFile;
    tls.keyFile = config.tlsKeyFile;
  }
  const ips = ipHosts(config.url ?? '');
  if (ips.length > 0) tls.checkServerIdentity = ipIdentityCheck(ips);
  return tls;
}

/** Node's hook, which the client passes through to `tls.connect` with its other TLS options. */
interface TlsIdentityCheck {
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

// For a server given by IP address the client sends no server name (SNI forbids IP addresses), and
// Node then checks the certificate against "localhost": a certificate for 127.0.0.1 or 10.0.0.5 would
// be refused. The certificate is checked against the configured addresses instead.
function ipIdentityCheck(ips: readonly string[]): TlsIdentityCheck['checkServerIdentity'] {
  return (host, cert) => {
    if (host !== 'localhost') return checkServerIdentity(host, cert);
    const first = checkServerIdentity(host, cert);
    if (first === undefined) return undefined;
    return ips.some((ip) => checkServerIdentity(ip, cert) === undefined) ? undefined : first;
  };
}

/** The IP-literal hosts of a comma-separated NATS URL list. */
function ipHosts(urls: string): string[] {
  return urls.split(',').flatMap((u) => {
    const authority = u
      .trim()
      .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
      .replace(/^[^/@]*@/, '')
      .split('/')[0]!;
    const host = authority.startsWith('[')
      ? authority.slice(1, authority.indexOf(']'))
      : authority.split(':')[0]!;
    return isIP(host) !== 0 ? [host] : [];
  });
}

function certificate(key: string, path: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (cause) {
    throw unusable(key, path, 'holds no PEM certificate', cause);
  }
}

async function readSeed(path: string): Promise<Uint8Array> {
  const text = (await readText('nats.nkeySeedFile', path)).trim();
  const seed = encoder.encode(text);
  if (!text.startsWith('SU') || !validSeed(seed))
    throw unusable('nats.nkeySeedFile', path, 'holds no user nkey seed (one line starting with SU)');
  return seed;
}

// A .creds file: an armored user JWT, then an armored user seed (what `nsc generate creds` writes).
const ARMORED = /-{3,}[^\n]*-{3,}\r?\n\s*([^\s-][^\n]*?)\s*\r?\n\s*-{3,}[^\n]*-{3,}/g;

async function readCreds(path: string): Promise<Uint8Array> {
  const text = await readText('nats.credsFile', path);
  const blocks = [...text.matchAll(ARMORED)].map((m) => m[1]!);
  const [jwt, seed] = blocks;
  if (jwt === undefined || seed === undefined || jwt.split('.').length !== 3)
    throw unusable('nats.credsFile', path, 'is not a NATS .creds file (a user JWT and a user seed)');
  if (!seed.startsWith('SU') || !validSeed(encoder.encode(seed)))
    throw unusable('nats.credsFile', path, 'holds no valid user nkey seed');
  return encoder.encode(text);
}

function validSeed(seed: Uint8Array): boolean {
  try {
    nkeys.fromSeed(seed);
    return true;
  } catch {
    return false;
  }
}

async function readText(key: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : 'cannot be read';
    throw unusable(key, path, why, cause);
  }
}

// The message names the setting and the path, never the content: these files are credentials.
function unusable(key: string, path: string, why: string, cause?: unknown): SluiceError {
  return new SluiceError('SLUICE_NATS_CREDENTIALS', `${key}: ${path} ${why}`, {
    ...(cause === undefined ? {} : { cause: new Error(describeCause(cause)) }),
    details: { setting: key, path },
  });
}

// A parser's error may quote what it read; keep only its code or first words.
function describeCause(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : 'unreadable';
}

/** `nats://user:pass@host:4222` → `nats://host:4222`, for messages; every URL of a list. */
export function redactNatsUrl(url: string): string {
  return url
    .split(',')
    .map((u) => u.trim().replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1'))
    .join(',');
}
