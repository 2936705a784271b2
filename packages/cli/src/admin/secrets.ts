import {
  SigningSecretStore,
  SluiceError,
  openSecrets,
  secretsBucket,
  type EndpointConfig,
  type EndpointSecrets,
} from '@sluice/core';
import { managedKinds } from '@sluice/deliverer';
import type { AdminContext, AdminRun } from './context.js';
import { renderTable, type Column } from './table.js';
import { formatTime, parseDuration } from './time.js';
import { resolveMainKey } from '../main-key.js';

// `sluice endpoints secret <id>` and `sluice endpoints rotate-secret <id>`: the way an operator gets
// an endpoint's secret to its receiver, and changes it without a gap (docs/signing.md). The only
// commands that print a secret, on stdout and nowhere else; ed25519 private keys are never printed.

/** How long the previous secret keeps signing next to a new one, by default: 24 h. */
export const DEFAULT_OVERLAP_MS = 24 * 3_600_000;

/**
 * Reads `--overlap`: a duration such as `30m`, `24h`, `7d`; `0s` ends the old secret at once.
 * @throws SluiceError `SLUICE_USAGE`
 */
export function parseOverlap(text: string | undefined): number {
  return text === undefined ? DEFAULT_OVERLAP_MS : parseDuration('--overlap', text);
}

/** One line of `sluice endpoints secret`: a secret receivers verify with, or a public key. */
interface SecretRow {
  /** `v1` (HMAC secret) or `v1a` (ed25519 public key). */
  readonly scheme: 'v1' | 'v1a';
  /** `whsec_…` or `whpk_…`. */
  readonly value: string;
  /** `managed` (in the secrets bucket) or `configuration` (endpoints[].secret). */
  readonly source: 'managed' | 'configuration';
  readonly createdAtMs: number | undefined;
  readonly expiresAtMs: number | undefined;
}

const COLUMNS: readonly Column<SecretRow>[] = [
  { heading: 'SCHEME', cell: (r) => r.scheme },
  { heading: 'SOURCE', cell: (r) => r.source },
  { heading: 'CREATED', cell: (r) => formatTime(r.createdAtMs) },
  { heading: 'EXPIRES', cell: (r) => (r.expiresAtMs === undefined ? 'never' : formatTime(r.expiresAtMs)) },
  { heading: 'SECRET / PUBLIC KEY', cell: (r) => r.value },
];

/** `sluice endpoints secret <id>`: the current secrets, generating a managed one on first use. */
export function showSecrets(endpoint: EndpointConfig, nowMs: number): AdminRun {
  return async (ctx) => {
    const managed = await openStore(ctx, endpoint, 'read');
    const secrets = managed ? await managed.ensure(endpoint.id, managedKinds(endpoint), nowMs) : undefined;
    print(ctx, endpoint, rows(endpoint, secrets, nowMs));
    return 0;
  };
}

/** `sluice endpoints rotate-secret <id> [--overlap D]`: a new secret first, the old ones until now + D. */
export function rotateSecret(endpoint: EndpointConfig, overlapMs: number, nowMs: number): AdminRun {
  return async (ctx) => {
    const kinds = managedKinds(endpoint);
    if (endpoint.secret !== undefined && !kinds.ed25519)
      throw new SluiceError(
        'SLUICE_SECRET_INLINE',
        `endpoint ${endpoint.id} signs with the secret set in the configuration (endpoints[].secret): ` +
          'change it there, or remove it to let sluice manage and rotate the secret (docs/signing.md)',
        { details: { endpointId: endpoint.id } },
      );
    const store = (await openStore(ctx, endpoint, 'rotate'))!;
    const after = await store.rotate(endpoint.id, kinds, overlapMs, nowMs);
    if (endpoint.secret !== undefined && endpoint.signing === 'both')
      ctx.err(
        `the v1 secret of ${endpoint.id} is set in the configuration: only its ed25519 key was rotated`,
      );
    // The new secret of each kind is the first of its list.
    const fresh = rows(
      endpoint,
      { ...after, hmac: after.hmac.slice(0, 1), ed25519: after.ed25519.slice(0, 1) },
      nowMs,
    ).filter((r) => r.source === 'managed');
    if (ctx.json) ctx.out(JSON.stringify({ id: endpoint.id, overlapMs, new: fresh.map(plain) }, null, 2));
    else {
      const until = formatTime(nowMs + overlapMs);
      ctx.err(
        `rotated the signing secrets of ${endpoint.id}: deliveries carry the new and the previous ` +
          `signatures until ${until}, then only the new one. Give the receiver the new one now:`,
      );
      for (const r of fresh) ctx.out(r.value);
    }
    return 0;
  };
}

async function openStore(
  ctx: AdminContext,
  endpoint: EndpointConfig,
  purpose: 'read' | 'rotate',
): Promise<SigningSecretStore | undefined> {
  const kinds = managedKinds(endpoint);
  const needed = purpose === 'rotate' || kinds.hmac || kinds.ed25519;
  const mainKey = await resolveMainKey({
    env: ctx.env,
    config: ctx.config,
    needed,
    fallback: 'read',
    warn: ctx.err,
  });
  if (!needed || !mainKey) return undefined;
  return new SigningSecretStore(await openSecrets(ctx.nc, ctx.config.nats), mainKey);
}

function rows(endpoint: EndpointConfig, s: EndpointSecrets | undefined, nowMs: number): SecretRow[] {
  const live = (e: { expiresAtMs?: number }): boolean => e.expiresAtMs === undefined || e.expiresAtMs > nowMs;
  const out: SecretRow[] = [];
  if (endpoint.signing !== 'v1a') {
    if (endpoint.secret !== undefined)
      out.push({
        scheme: 'v1',
        value: endpoint.secret,
        source: 'configuration',
        createdAtMs: undefined,
        expiresAtMs: undefined,
      });
    else
      for (const h of (s?.hmac ?? []).filter(live))
        out.push({
          scheme: 'v1',
          value: h.secret,
          source: 'managed',
          createdAtMs: h.createdAtMs,
          expiresAtMs: h.expiresAtMs,
        });
  }
  if (endpoint.signing !== 'v1')
    for (const p of (s?.ed25519 ?? []).filter(live))
      out.push({
        scheme: 'v1a',
        value: p.publicKey,
        source: 'managed',
        createdAtMs: p.createdAtMs,
        expiresAtMs: p.expiresAtMs,
      });
  return out;
}

function plain(r: SecretRow): Record<string, unknown> {
  return {
    scheme: r.scheme,
    [r.scheme === 'v1' ? 'secret' : 'publicKey']: r.value,
    source: r.source,
    ...(r.createdAtMs !== undefined ? { createdAt: new Date(r.createdAtMs).toISOString() } : {}),
    ...(r.expiresAtMs !== undefined ? { expiresAt: new Date(r.expiresAtMs).toISOString() } : {}),
  };
}

function print(ctx: AdminContext, endpoint: EndpointConfig, list: readonly SecretRow[]): void {
  if (ctx.json) {
    ctx.out(
      JSON.stringify({ id: endpoint.id, signing: endpoint.signing, secrets: list.map(plain) }, null, 2),
    );
    return;
  }
  for (const line of renderTable(COLUMNS, list)) ctx.out(line);
  if (list.some((r) => r.source === 'managed'))
    ctx.err(`managed secrets are kept sealed in the ${secretsBucket(ctx.config.nats)} KV bucket`);
}
