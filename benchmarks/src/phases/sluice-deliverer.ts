import type { NatsConnection } from '@nats-io/transport-node';
import { AckWindowPublisher, partitionOf, routedDelivery, type NatsConfig } from '@sluice/core';
import { postBody1k } from '../payloads.js';
import { figures, type Phase, type PhaseContext, type PhaseResult } from '../phase.js';
import type { Receiver } from '../infra.js';
import { measureDrain, type DrainFigures } from './sluice-drain.js';
import {
  benchNats,
  endpointId,
  resolved,
  sluiceConfig,
  sluiceNodeArgs,
  subscriptionId,
} from './sluice-config.js';

const CAP = 1_500_000;
const GUESS_PER_SECOND = 20_000;

/**
 * Publishes deliveries `first … first+count-1` for endpoint `endpoint` exactly as the router writes them:
 * subject by endpoint and the row's partition, the three delivery headers, Msg-Id
 * `<event id>.<subscription id>`, and the event bytes (here the ~1 KB body of raw-http) as data.
 */
export async function prefillDeliveries(
  nc: NatsConnection,
  nats: NatsConfig,
  first: number,
  count: number,
  endpointIndex = 0,
): Promise<void> {
  const pub = new AckWindowPublisher(nc, { window: 1024, timeoutMs: 30_000 });
  const endpoint = endpointId(endpointIndex);
  const subscription = subscriptionId(endpointIndex);
  let failed: unknown;
  for (let id = first; id < first + count && failed === undefined; id++) {
    if (pub.full) await pub.room();
    const eventId = `evt_${id.toString(16).padStart(32, '0')}`;
    const partition = partitionOf(String(id), nats.partitions);
    const d = routedDelivery(
      nats,
      { eventId, subscriptionId: subscription, endpointId: endpoint, partition },
      postBody1k(id),
    );
    pub.publish(d.subject, d.data, d.msgId, d.headers).catch((err: unknown) => (failed ??= err));
  }
  await pub.drain();
  await pub.close();
  if (failed !== undefined) throw failed;
}

/**
 * The deliverer alone: `sluice deliverer` draining a SLUICE_DELIVERIES stream pre-filled (before
 * the window) with deliveries to one endpoint, the receiver process. Counts requests the receiver
 * answered within the window. Fair against raw-http: the same ~1 KB body, the same receiver, the
 * same number of requests in flight and connections; the difference is what sluice adds per
 * delivery — pulling and acking the message, signing, headers, outcome bookkeeping — and its
 * metered processes include the nats-server serving the pulls and acks.
 */
export const delivererPhase: Phase = delivererModePhase(
  'deliverer',
  'sluice deliverer draining a pre-filled SLUICE_DELIVERIES → receiver',
);

/**
 * The deliverer phase as a factory: the same run under another name, with `deliverer.mode` set when
 * `mode` is given (the pool vs in-process comparison, docs/decisions/0006-delivery-worker-pool.md).
 * The pool's worker threads live in the sluice-deliverer process, so its /proc CPU includes them.
 */
export function delivererModePhase(name: string, title: string, mode?: 'in-process' | 'pool'): Phase {
  return {
    name,
    title,
    kind: 'sluice',
    run: (ctx) => runDeliverer(name, ctx, mode),
  };
}

/** The deliverer phase with `deliverer.mode: in-process`: POSTs on the deliverer's main thread. */
export const delivererInProcessPhase: Phase = delivererModePhase(
  'deliverer-inprocess',
  'sluice deliverer, mode in-process (POSTs on the main thread) → receiver',
  'in-process',
);

/** The deliverer phase with `deliverer.mode: pool`: batches of POSTs in Piscina worker threads. */
export const delivererPoolPhase: Phase = delivererModePhase(
  'deliverer-pool',
  'sluice deliverer, mode pool (batched POSTs in Piscina workers) → receiver',
  'pool',
);

async function runDeliverer(
  name: string,
  ctx: PhaseContext,
  mode: 'in-process' | 'pool' | undefined,
): Promise<PhaseResult> {
  const nats = await ctx.infra.nats();
  const receiver = await ctx.infra.receiver();
  const raw = sluiceConfig({
    natsUrl: nats.url,
    endpointUrls: [receiver.url],
    ctx,
    matchHarnessConcurrency: true,
  });
  if (mode) raw.deliverer = { ...(raw.deliverer as Record<string, unknown>), mode };
  const drained = await drainToFastEndpoint(ctx, nats, receiver, raw);
  return figures(name, 'deliveries', drained.count, drained.seconds, drained.processes, {
    notes: drained.notes,
  });
}

/**
 * Runs `sluice deliverer` with `raw` over a backlog of deliveries to endpoint 0 (the `fast` receiver),
 * pre-filled and topped up by {@link measureDrain}, and measures what the receiver got in the window.
 * `before` runs once the streams exist, before the first pre-fill (e.g. another endpoint's backlog).
 */
export async function drainToFastEndpoint(
  ctx: PhaseContext,
  nats: { url: string; pid: number },
  fast: Receiver,
  raw: Record<string, unknown>,
  before?: (nc: NatsConnection, nats: NatsConfig) => Promise<void>,
): Promise<DrainFigures> {
  const config = resolved(raw);
  const { nc } = await benchNats(config);
  try {
    await before?.(nc, config.nats);
    let stocked = 0;
    const add = async (n: number): Promise<void> => {
      await prefillDeliveries(nc, config.nats, stocked + 1, n);
      stocked += n;
    };
    const initial = Math.min(CAP, Math.ceil(((ctx.warmupMs + ctx.durationMs) / 1000) * GUESS_PER_SECOND));
    ctx.progress(`pre-filling ${initial} deliveries`);
    await add(initial);
    return await measureDrain(
      ctx,
      {
        consumed: async () => (await fast.stats()).count,
        get stocked() {
          return stocked;
        },
        add,
      },
      { name: 'sluice-deliverer', start: () => ctx.infra.sluice('deliverer', raw, sluiceNodeArgs()) },
      [
        { name: 'nats-server', pid: nats.pid },
        { name: 'receiver', pid: fast.pid },
      ],
      CAP,
    );
  } finally {
    await nc.close();
  }
}
