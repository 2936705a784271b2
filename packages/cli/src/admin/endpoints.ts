import {
  SluiceError,
  deliveriesStream,
  dlqEndpointFilter,
  dlqStream,
  endpointConsumer,
  openEndpointHealth,
  type Config,
  type EndpointConfig,
} from '@sluice/core';
import { decodeHealth, encodeHealth, type EndpointHealth } from '@sluice/deliverer';
import type { AdminContext, AdminPlanner, AdminRun } from './context.js';
import { parseOverlap, rotateSecret, showSecrets } from './secrets.js';
import { renderTable, type Column } from './table.js';
import { formatTime } from './time.js';

/** One endpoint as `sluice endpoints` shows it. */
export interface EndpointStatus {
  readonly id: string;
  readonly url: string;
  /** `enabled`, `disabled (<reason>)`, `open until <time>` or `throttled until <time>`. */
  readonly state: string;
  readonly failingSinceMs: number | undefined;
  /** Deliveries waiting for or in flight to the endpoint (its `deliver-<id>` consumer). */
  readonly pending: number;
  /** Messages in the DLQ for the endpoint. */
  readonly deadLetters: number;
  /** The record in the endpoints KV bucket (absent key: healthy). */
  readonly health: EndpointHealth;
}

/** `sluice endpoints ls | enable <id> | disable <id> | secret <id> | rotate-secret <id>`. */
export const planEndpoints: AdminPlanner = (args, config, nowMs) => {
  const sub = args.subcommand ?? 'ls';
  if (sub === 'ls') return listEndpoints(nowMs);
  const endpoint = configuredEndpoint(config, args.operands?.[0] ?? '');
  if (sub === 'enable') return enable(endpoint, nowMs);
  if (sub === 'disable') return disable(endpoint, nowMs);
  if (sub === 'secret') return showSecrets(endpoint, nowMs);
  if (sub === 'rotate-secret')
    return rotateSecret(endpoint, parseOverlap(args.values.overlap as string | undefined), nowMs);
  throw new SluiceError('SLUICE_USAGE', `sluice endpoints has no sub-command "${sub}"`);
};

/**
 * The configured endpoint with this id.
 * @throws SluiceError `SLUICE_UNKNOWN_ENDPOINT`
 */
export function configuredEndpoint(config: Config, id: string): EndpointConfig {
  const endpoint = config.endpoints.find((e) => e.id === id);
  if (!endpoint) {
    const known = config.endpoints.map((e) => e.id).join(', ') || 'none';
    throw new SluiceError(
      'SLUICE_UNKNOWN_ENDPOINT',
      `no endpoint "${id}" in the configuration (endpoints: ${known})`,
      {
        details: { endpointId: id },
      },
    );
  }
  return endpoint;
}

/** What an endpoint's health means right now, in words (the STATE column). */
export function stateOf(endpoint: EndpointConfig, h: EndpointHealth, nowMs: number): string {
  if (!endpoint.enabled) return 'disabled (configuration)';
  if (h.disabled) return `disabled (${h.disabledReason ?? 'unknown'})`;
  if (h.openUntilMs !== undefined && h.openUntilMs > nowMs) return `open until ${formatTime(h.openUntilMs)}`;
  if (h.throttledUntilMs !== undefined && h.throttledUntilMs > nowMs)
    return `throttled until ${formatTime(h.throttledUntilMs)}`;
  return 'enabled';
}

type KV = Awaited<ReturnType<typeof openEndpointHealth>>;

const COLUMNS: readonly Column<EndpointStatus>[] = [
  { heading: 'ID', cell: (s) => s.id },
  { heading: 'URL', cell: (s) => s.url },
  { heading: 'STATE', cell: (s) => s.state },
  { heading: 'FAILING SINCE', cell: (s) => formatTime(s.failingSinceMs) },
  { heading: 'PENDING', cell: (s) => s.pending },
  { heading: 'DEAD LETTERS', cell: (s) => s.deadLetters },
];

function listEndpoints(nowMs: number): AdminRun {
  return async (ctx) => {
    const kv = await openEndpointHealth(ctx.nc, ctx.config.nats);
    const statuses: EndpointStatus[] = [];
    for (const e of ctx.config.endpoints) {
      const health = await readHealth(kv, e.id);
      statuses.push({
        id: e.id,
        url: e.url,
        state: stateOf(e, health, nowMs),
        failingSinceMs: health.failingSinceMs,
        pending: await pendingOf(ctx, e.id),
        deadLetters: await deadLettersOf(ctx, e.id),
        health,
      });
    }
    if (ctx.json) ctx.out(JSON.stringify(statuses, null, 2));
    else if (statuses.length === 0) ctx.out('no endpoints configured');
    else for (const line of renderTable(COLUMNS, statuses)) ctx.out(line);
    return 0;
  };
}

function enable(endpoint: EndpointConfig, nowMs: number): AdminRun {
  return async (ctx) => {
    const kv = await openEndpointHealth(ctx.nc, ctx.config.nats);
    // A fresh record, not a patch: enabling also forgets the breaker, the throttle and the failure
    // stretch, so that the endpoint gets a clean start and disableAfterMs counts from scratch.
    const health: EndpointHealth = { disabled: false, updatedAtMs: nowMs };
    await kv.put(endpoint.id, encodeHealth(health));
    report(ctx, endpoint, health, `endpoint ${endpoint.id} enabled: deliverers resume sending to it`);
    if (!endpoint.enabled)
      ctx.err(`warning: the configuration sets enabled: false for ${endpoint.id}; that still applies`);
    return 0;
  };
}

function disable(endpoint: EndpointConfig, nowMs: number): AdminRun {
  return async (ctx) => {
    const kv = await openEndpointHealth(ctx.nc, ctx.config.nats);
    const health = await updateHealth(kv, endpoint.id, (current) => ({
      ...current,
      disabled: true,
      disabledReason: 'manual',
      disabledAtMs: nowMs,
      updatedAtMs: nowMs,
    }));
    report(
      ctx,
      endpoint,
      health,
      `endpoint ${endpoint.id} disabled: its deliveries wait in ${deliveriesStream(ctx.config.nats)} ` +
        `until "sluice endpoints enable ${endpoint.id}"`,
    );
    return 0;
  };
}

function report(ctx: AdminContext, endpoint: EndpointConfig, health: EndpointHealth, line: string): void {
  ctx.out(ctx.json ? JSON.stringify({ id: endpoint.id, health }, null, 2) : line);
}

async function readHealth(kv: KV, id: string): Promise<EndpointHealth> {
  const entry = await kv.get(id);
  return decodeHealth(entry?.operation === 'PUT' ? entry.value : undefined);
}

const CAS_ATTEMPTS = 5;

/**
 * Read-modify-write of one health record with compare-and-set: deliverers write the same key (breaker,
 * throttle, failure stretch), and a blind put could undo a change made between the read and the write.
 */
async function updateHealth(
  kv: KV,
  id: string,
  change: (current: EndpointHealth) => EndpointHealth,
): Promise<EndpointHealth> {
  for (let attempt = 1; ; attempt++) {
    const entry = await kv.get(id);
    const next = change(decodeHealth(entry?.operation === 'PUT' ? entry.value : undefined));
    try {
      if (entry) await kv.update(id, encodeHealth(next), entry.revision);
      else await kv.create(id, encodeHealth(next));
      return next;
    } catch (err) {
      const conflict = /wrong last sequence|key exists/i.test(String((err as Error)?.message));
      if (!conflict || attempt >= CAS_ATTEMPTS) throw err;
    }
  }
}

async function pendingOf(ctx: AdminContext, endpointId: string): Promise<number> {
  const stream = deliveriesStream(ctx.config.nats);
  try {
    const info = await ctx.jsm.consumers.info(stream, endpointConsumer(endpointId));
    return info.num_pending + info.num_ack_pending;
  } catch (err) {
    // No deliverer has started for this endpoint yet: nothing has been consumed, and nothing counted.
    if (/consumer not found/i.test(String((err as Error)?.message))) return 0;
    throw err;
  }
}

async function deadLettersOf(ctx: AdminContext, endpointId: string): Promise<number> {
  const ns = ctx.config.nats;
  const info = await ctx.jsm.streams.info(dlqStream(ns), {
    subjects_filter: dlqEndpointFilter(ns, endpointId),
  });
  return Object.values(info.state.subjects ?? {}).reduce((n, count) => n + count, 0);
}
