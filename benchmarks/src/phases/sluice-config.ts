// Shared pieces of sluice's own phases: the configuration the `sluice <role>` children run with, a
// NATS connection for the bench process, stream counters, and how external node flags reach them.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { buildConfig, provisionStreams, type Config } from '@sluice/core';
import type { PhaseContext } from '../phase.js';

/** The event type of every row of the bench table. */
export const BENCH_TYPE = 'mysql.bench.orders.insert';

/** A fixed Standard Webhooks secret: signing costs the same whatever the key. */
export const BENCH_SECRET = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;

/** What {@link sluiceConfig} needs to know. */
export interface SluiceConfigInput {
  readonly natsUrl: string;
  /** MySQL source URL (capture / up); none for router or deliverer alone. */
  readonly sourceUrl?: string;
  /** Endpoint URLs, one endpoint and one subscription (to every bench row) each. */
  readonly endpointUrls?: readonly string[];
  readonly ctx: PhaseContext;
  /**
   * Run the deliverer with the harness's concurrency and as many connections, as the raw-http loop
   * does (for deliverer / raw-http); otherwise sluice's defaults.
   */
  readonly matchHarnessConcurrency?: boolean;
}

/** Endpoint id of the i-th endpoint. */
export function endpointId(i: number): string {
  return `ep${i}`;
}

/** Subscription id of the i-th endpoint's subscription. */
export function subscriptionId(i: number): string {
  return `sub${i}`;
}

/**
 * The configuration file of a `sluice` child (plain data; infra writes it as JSON, which is YAML).
 * Everything not named here is sluice's default, on purpose: the numbers are for the configuration
 * users get.
 */
export function sluiceConfig(input: SluiceConfigInput): Record<string, unknown> {
  const urls = input.endpointUrls ?? [];
  return {
    nats: { url: input.natsUrl },
    sources: input.sourceUrl ? [{ id: 'bench', url: input.sourceUrl, include: ['bench'] }] : [],
    // The receivers listen on 127.0.0.1, which the network policy blocks unless allowed.
    endpoints: urls.map((url, i) => ({
      id: endpointId(i),
      url,
      secret: BENCH_SECRET,
      allowNetworks: ['127.0.0.1/32'],
    })),
    subscriptions: urls.map((_, i) => ({
      id: subscriptionId(i),
      endpoint: endpointId(i),
      types: ['mysql.bench.orders.*'],
    })),
    ...(input.matchHarnessConcurrency
      ? { deliverer: { concurrency: input.ctx.concurrency, connectionsPerOrigin: input.ctx.concurrency } }
      : {}),
  };
}

/** The same configuration validated and with every default filled in, as the child sees it. */
export function resolved(config: Record<string, unknown>): Config {
  return buildConfig(JSON.stringify(config), {});
}

/** A NATS connection of the bench process, with the streams provisioned as sluice would. */
export async function benchNats(config: Config): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  const nc = await connect({ servers: config.nats.url!, name: 'bench-client' });
  const jsm = await jetstreamManager(nc);
  await provisionStreams(jsm, config.nats);
  return { nc, jsm };
}

/** Messages stored in `stream` now. */
export async function streamMessages(jsm: JetStreamManager, stream: string): Promise<number> {
  return (await jsm.streams.info(stream)).state.messages;
}

/**
 * Extra node flags for the sluice children, from `BENCH_SLUICE_NODE_ARGS` (space-separated), e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile a phase.
 */
export function sluiceNodeArgs(): string[] {
  return (process.env.BENCH_SLUICE_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Monotonic now in µs, the clock of `--cpu-prof` sample timestamps (for cutting a profile to a window). */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
