import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckWindowPublisher,
  deliveriesStream,
  eventSubject,
  partitionOf,
  type NatsConfig,
} from '@sluice/core';
import { cdcEvent500 } from '../payloads.js';
import { figures, type Phase } from '../phase.js';
import { measureDrain } from './sluice-drain.js';
import {
  BENCH_TYPE,
  benchNats,
  resolved,
  sluiceConfig,
  sluiceNodeArgs,
  streamMessages,
} from './sluice-config.js';

/**
 * Publishes events `first … first+count-1` as capture writes them: subject by the row's partition
 * and type, Msg-Id the event id, the ~500 B CloudEvent as data.
 */
export async function prefillEvents(
  nc: NatsConnection,
  nats: NatsConfig,
  first: number,
  count: number,
): Promise<void> {
  const pub = new AckWindowPublisher(nc, { window: 1024, timeoutMs: 30_000 });
  let failed: unknown;
  for (let id = first; id < first + count && failed === undefined; id++) {
    if (pub.full) await pub.room();
    const eventId = `evt_${id.toString(16).padStart(32, '0')}`;
    pub
      .publish(
        eventSubject(nats, partitionOf(String(id), nats.partitions), BENCH_TYPE),
        cdcEvent500(id),
        eventId,
      )
      .catch((err: unknown) => (failed ??= err));
  }
  await pub.drain();
  await pub.close();
  if (failed !== undefined) throw failed;
}

/**
 * The router alone at a fan-out of `fanout`: `sluice router` draining a SLUICE_EVENTS stream
 * pre-filled (before the window) with ~500 B events, every one matching `fanout` subscriptions of
 * as many endpoints. Counts events routed in the window as deliveries stored ÷ fan-out (a delivery
 * is stored before its event is acked, so this is the router's output as it happens). Fan-out 10
 * vs 1 runs the same router on the same events: the ratio is the cost of each extra subscription.
 * The endpoints do not exist: nothing delivers in this phase.
 */
function routerPhase(fanout: number): Phase {
  const cap = Math.round(1_500_000 / fanout);
  const guess = 30_000 / fanout;
  return {
    name: `router-fanout-${fanout}`,
    title: `sluice router, SLUICE_EVENTS → SLUICE_DELIVERIES with ${fanout} matching subscription${fanout > 1 ? 's' : ''}`,
    kind: 'sluice',
    async run(ctx) {
      const nats = await ctx.infra.nats();
      const urls = Array.from({ length: fanout }, (_, i) => `http://127.0.0.1:9/unused-${i}`);
      const raw = sluiceConfig({ natsUrl: nats.url, endpointUrls: urls, ctx });
      const config = resolved(raw);
      const { nc, jsm } = await benchNats(config);
      try {
        let stocked = 0;
        const add = async (n: number): Promise<void> => {
          await prefillEvents(nc, config.nats, stocked + 1, n);
          stocked += n;
        };
        const initial = Math.min(cap, Math.ceil(((ctx.warmupMs + ctx.durationMs) / 1000) * guess));
        ctx.progress(`pre-filling ${initial} events`);
        await add(initial);
        const stream = deliveriesStream(config.nats);
        const drained = await measureDrain(
          ctx,
          {
            consumed: async () => (await streamMessages(jsm, stream)) / fanout,
            get stocked() {
              return stocked;
            },
            add,
          },
          { name: 'sluice-router', start: () => ctx.infra.sluice('router', raw, sluiceNodeArgs()) },
          [{ name: 'nats-server', pid: nats.pid }],
          cap,
        );
        const deliveries = Math.round(drained.count * fanout);
        return figures(this.name, 'events', drained.count, drained.seconds, drained.processes, {
          notes: [
            `${deliveries} deliveries stored (${Math.round(deliveries / drained.seconds)}/s)`,
            ...drained.notes,
          ],
        });
      } finally {
        await nc.close();
      }
    },
  };
}

/** Router with one matching subscription. */
export const routerFanout1 = routerPhase(1);
/** Router with ten matching subscriptions. */
export const routerFanout10 = routerPhase(10);
