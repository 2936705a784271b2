import { jetstream, type ConsumerMessages } from '@nats-io/jetstream';
import { AckWindowPublisher, ensureDurable } from '@sluice/core';
import { figures, type Phase } from '../phase.js';
import { backlogSize, calibrate, measureWindow, type CountSample } from './ref-window.js';
import { openBenchStream, publishEvents, type BenchStream } from './ref-jetstream.js';

/** Most messages the publish loop sends in one run (≈600 B each on disk): the load's bound. */
const PUBLISH_CAP = 6_000_000;
/** Most messages the consume loop's backlog holds. */
const CONSUME_CAP = 2_000_000;
/** Messages published and consumed once to calibrate the consume rate. */
const CALIBRATION = 50_000;
/** sluice's publish window and max_ack_pending defaults (config-schema.ts). */
const WINDOW = 1024;

/**
 * The broker limit for writes from Node: one connection publishing ~500 B CDC events to SLUICE_EVENTS
 * (provisioned by core, file storage, 16 partition subjects, `Nats-Msg-Id` on every message) through
 * core's `AckWindowPublisher` with a window of 1,024 outstanding PubAcks, counting acknowledged
 * messages. This is exactly capture's publishing technique without capture's own work (binlog
 * decoding, envelope, ids, checkpoints), so capture / raw-jetstream-publish says how much of the
 * broker's write capacity capture reaches. Processes: the bench client and nats-server.
 */
export const rawJetstreamPublish: Phase = {
  name: 'raw-jetstream-publish',
  title: 'AckWindowPublisher (window 1024) → SLUICE_EVENTS, acked (the broker write limit)',
  kind: 'reference',
  async run(ctx) {
    const nats = await ctx.infra.nats();
    const s = await openBenchStream(nats.url);
    const pub = new AckWindowPublisher(s.nc, { window: WINDOW });
    try {
      let acked = 0;
      let doneAt: bigint | undefined;
      let running = true;
      const loop = publishEvents(s, pub, {
        first: 0,
        count: PUBLISH_CAP,
        running: () => running,
        onAck: () => {
          if (++acked === PUBLISH_CAP) doneAt = process.hrtime.bigint();
        },
      });
      let loopError: unknown;
      void loop.catch((err: unknown) => (loopError = err));
      const w = await measureWindow(
        ctx,
        [
          { name: 'bench-client', pid: process.pid },
          { name: 'nats-server', pid: nats.pid },
        ],
        (): CountSample => {
          if (loopError !== undefined) throw loopError;
          return { count: acked, ...(doneAt !== undefined ? { doneAtNs: doneAt } : {}) };
        },
      );
      running = false;
      await loop;
      return figures(this.name, 'messages', w.count, w.seconds, w.processes, {
        notes: [`window ${WINDOW}, ${s.subjects.length} partition subjects, ~500 B messages`, ...w.notes],
      });
    } finally {
      await pub.close();
      await s.nc.close();
    }
  },
};

/**
 * The broker limit for reads from Node: a durable pull consumer with explicit acks (max_ack_pending
 * 1,024, sluice's default) over a pre-filled SLUICE_EVENTS, consumed with `consume()` and a callback
 * that acks every message — the cheapest way the client offers, so a lower bound on what any
 * consuming role (router, deliverer) pays per message for JetStream alone. The backlog is published
 * before the window (sized from a short calibration, at most 2 M messages), so the window meters
 * only consuming. Processes: the bench client and nats-server.
 */
export const rawJetstreamConsume: Phase = {
  name: 'raw-jetstream-consume',
  title: 'durable pull consume() + ack over SLUICE_EVENTS (the broker read limit)',
  kind: 'reference',
  async run(ctx) {
    const nats = await ctx.infra.nats();
    const s = await openBenchStream(nats.url);
    const pub = new AckWindowPublisher(s.nc, { window: WINDOW });
    try {
      await publishEvents(s, pub, { first: 0, count: CALIBRATION });
      const cal = await startConsumer(s, 'bench-calibrate', CALIBRATION);
      const rate = await calibrate(cal.sample, CALIBRATION, 60_000).finally(() => cal.messages.close());
      await s.jsm.consumers.delete(s.stream, 'bench-calibrate');
      const total = backlogSize(rate, ctx, { margin: 1.5, min: CALIBRATION, max: CONSUME_CAP });
      ctx.progress(`calibrated ${Math.round(rate)} msg/s; backlog of ${total} messages`);
      await publishEvents(s, pub, { first: CALIBRATION, count: total - CALIBRATION });

      const { messages, sample } = await startConsumer(s, 'bench-consume', total);
      try {
        const w = await measureWindow(
          ctx,
          [
            { name: 'bench-client', pid: process.pid },
            { name: 'nats-server', pid: nats.pid },
          ],
          sample,
        );
        return figures(this.name, 'messages', w.count, w.seconds, w.processes, {
          lagGrowing: false,
          notes: [`backlog ${total} messages, max_ack_pending ${WINDOW}`, ...w.notes],
        });
      } finally {
        await messages.close();
      }
    } finally {
      await pub.close();
      await s.nc.close();
    }
  },
};

async function startConsumer(
  s: BenchStream,
  durable: string,
  total: number,
): Promise<{ messages: ConsumerMessages; sample: () => CountSample }> {
  await ensureDurable(s.jsm, {
    stream: s.stream,
    durable,
    filterSubject: s.filter,
    maxAckPending: WINDOW,
    ackWaitMs: 30_000,
  });
  const consumer = await jetstream(s.nc).consumers.get(s.stream, durable);
  let count = 0;
  let firstAt: bigint | undefined;
  let doneAt: bigint | undefined;
  const messages = await consumer.consume({
    max_messages: WINDOW,
    callback: (m) => {
      m.ack();
      if (count++ === 0) firstAt = process.hrtime.bigint();
      if (count === total) doneAt = process.hrtime.bigint();
    },
  });
  const sample = (): CountSample => ({
    count,
    ...(firstAt !== undefined ? { firstAtNs: firstAt } : {}),
    ...(doneAt !== undefined ? { doneAtNs: doneAt } : {}),
  });
  return { messages, sample };
}
