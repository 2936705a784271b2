import { figures, type Phase, type PhaseContext, type PhaseResult } from '../phase.js';
import { drainToFastEndpoint, prefillDeliveries } from './sluice-deliverer.js';
import { sluiceConfig } from './sluice-config.js';

const SLOW_ANSWER_MS = 10_000;

/**
 * The deliverer next to a slow endpoint with a deep backlog: endpoint 1 answers after 10 s and has
 * 1,000,000 deliveries waiting (20,000 in quick mode); endpoint 0 is the fast receiver with its own
 * pre-filled backlog. Counts endpoint 0's deliveries in the window — compare with `deliverer`, the same
 * fast endpoint alone — and reports the deliverer's peak RSS, which must not grow with the backlog:
 * the slow endpoint can hold only its own `maxInFlight` slots (I5, I6 in docs/architecture.md).
 */
export const slowEndpointPhase: Phase = {
  name: 'deliverer-slow-endpoint',
  title: 'sluice deliverer → fast receiver, beside a 10 s endpoint with a 1M backlog (fast deliveries/s)',
  kind: 'sluice',
  run: runSlowEndpoint,
};

async function runSlowEndpoint(ctx: PhaseContext): Promise<PhaseResult> {
  const nats = await ctx.infra.nats();
  const fast = await ctx.infra.receiver();
  const slow = await ctx.infra.receiver({ delayMs: SLOW_ANSWER_MS });
  const raw = sluiceConfig({
    natsUrl: nats.url,
    endpointUrls: [fast.url, slow.url],
    ctx,
    matchHarnessConcurrency: true,
  });
  const endpoints = raw.endpoints as Record<string, unknown>[];
  endpoints[1] = { ...endpoints[1], timeoutMs: SLOW_ANSWER_MS * 2 };
  // The process budget is twice the harness concurrency, as sluice's defaults are (128 for the
  // process, 64 per endpoint): the fast endpoint then has as many requests in flight as in
  // `deliverer` while the slow one holds its own maxInFlight.
  raw.deliverer = { concurrency: 2 * ctx.concurrency, connectionsPerOrigin: ctx.concurrency };
  endpoints.forEach((e, i) => (endpoints[i] = { ...e, maxInFlight: ctx.concurrency }));
  const slowBacklog = ctx.mode === 'quick' ? 20_000 : 1_000_000;
  const drained = await drainToFastEndpoint(ctx, nats, fast, raw, async (nc, ns) => {
    ctx.progress(`pre-filling ${slowBacklog} deliveries for the slow endpoint`);
    // Ids from 1e9 up: apart from the fast endpoint's, though subscriptions differ anyway.
    await prefillDeliveries(nc, ns, 1_000_000_000, slowBacklog, 1);
  });
  const slowSeen = (await slow.stats()).count;
  const notes = [
    ...drained.notes,
    `slow endpoint: ${slowBacklog} waiting, ${slowSeen} requests received in all (answers after ${SLOW_ANSWER_MS / 1000} s)`,
  ];
  return figures('deliverer-slow-endpoint', 'deliveries', drained.count, drained.seconds, drained.processes, {
    notes,
  });
}
