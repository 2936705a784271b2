import { headers } from '@nats-io/transport-node';
import {
  DeliveryHeaders,
  SluiceError,
  deliveriesStream,
  dlqStream,
  isSluiceError,
  redrivenDelivery,
} from '@sluice/core';
import type { AdminContext, AdminRun } from './context.js';
import {
  deadLetters,
  filterOf,
  getDeadLetter,
  matchesFilter,
  type DeadLetter,
  type DeadLetterFilter,
} from './dead-letter.js';
import { parseCount } from './time.js';
import type { ParsedArgs } from '../command.js';

const PROGRESS_EVERY = 100;

/** What one `dlq redrive` did. */
export interface RedriveSummary {
  /** Dead letters put back on their delivery subject and deleted from the DLQ. */
  readonly redriven: number;
  /** Of those, how many the deliveries stream already held (an earlier redrive died before the delete). */
  readonly duplicates: number;
  /** Dead letters left in place because a header needed to redrive them is missing. */
  readonly skipped: number;
}

/**
 * `sluice dlq redrive`: checks that the command line names what to redrive — a filter, `--seq` or
 * `--all` — so that a bare `dlq redrive` cannot flood every endpoint with every dead letter.
 * @throws SluiceError `SLUICE_USAGE`
 */
export function planRedrive(args: ParsedArgs, nowMs: number): AdminRun {
  const filter = filterOf(args, nowMs);
  const v = args.values;
  const seq = typeof v.seq === 'string' ? parseCount('--seq', v.seq) : undefined;
  const limit = typeof v.limit === 'string' ? parseCount('--limit', v.limit) : Number.POSITIVE_INFINITY;
  if (Object.keys(filter).length === 0 && seq === undefined && v.all !== true)
    throw new SluiceError(
      'SLUICE_USAGE',
      'dlq redrive needs --endpoint, --subscription, --since, --until or --seq to choose dead letters, ' +
        'or --all to redrive every one',
    );
  return (ctx) => redrive(ctx, seq === undefined ? filter : { ...filter, seq }, limit);
}

async function redrive(ctx: AdminContext, filter: DeadLetterFilter, limit: number): Promise<number> {
  const counts = { redriven: 0, duplicates: 0, skipped: 0 };
  const configured = new Set(ctx.config.endpoints.map((e) => e.id));
  const warned = new Set<string>();
  for await (const d of selected(ctx, filter)) {
    if (counts.redriven + counts.skipped >= limit) break;
    const target = targetOf(d);
    if (!target) {
      counts.skipped += 1;
      ctx.err(
        `dead letter ${d.seq}: no ${DeliveryHeaders.eventId}, ${DeliveryHeaders.subscription} or ` +
          `${DeliveryHeaders.endpoint} header, or no partition in its subject; left in the DLQ`,
      );
      continue;
    }
    if (!configured.has(target.endpointId) && !warned.has(target.endpointId)) {
      warned.add(target.endpointId);
      ctx.err(
        `warning: endpoint ${target.endpointId} is not in this configuration; ` +
          'unless the deliverers have it, its dead letters come straight back',
      );
    }
    if (await redriveOne(ctx, target)) counts.duplicates += 1;
    counts.redriven += 1;
    if (!ctx.json && counts.redriven % PROGRESS_EVERY === 0) ctx.err(`redriven ${counts.redriven}…`);
  }
  const summary: RedriveSummary = counts;
  if (ctx.json) ctx.out(JSON.stringify(summary, null, 2));
  else {
    const dupes =
      counts.duplicates > 0 ? ` (${counts.duplicates} already there from an earlier redrive)` : '';
    const skipped = counts.skipped > 0 ? `; ${counts.skipped} skipped` : '';
    ctx.out(
      `redrove ${counts.redriven} dead letter(s) to ${deliveriesStream(ctx.config.nats)}${dupes}${skipped}`,
    );
  }
  return counts.skipped > 0 ? 1 : 0;
}

async function* selected(ctx: AdminContext, filter: DeadLetterFilter): AsyncGenerator<DeadLetter> {
  if (filter.seq === undefined) {
    yield* deadLetters(ctx, filter);
    return;
  }
  // Redriving a sequence number a second time finds nothing and does nothing, like any other filter.
  const d = await getDeadLetter(ctx, filter.seq).catch((err: unknown) => {
    if (isSluiceError(err, 'SLUICE_DEAD_LETTER_NOT_FOUND')) return undefined;
    throw err;
  });
  if (d && matchesFilter(d, filter)) yield d;
}

/** What redriving a dead letter needs from it. */
interface RedriveTarget {
  readonly seq: number;
  readonly eventId: string;
  readonly subscriptionId: string;
  readonly endpointId: string;
  readonly partition: number;
  readonly data: Uint8Array;
}

function targetOf(d: DeadLetter): RedriveTarget | undefined {
  const { seq, eventId, subscriptionId, endpointId, partition, data } = d;
  if (eventId === undefined || subscriptionId === undefined || endpointId === undefined) return undefined;
  if (partition === undefined) return undefined;
  return { seq, eventId, subscriptionId, endpointId, partition, data };
}

/**
 * Publishes one dead letter back to its endpoint's delivery subject as attempt 1 (no `Sluice-Attempt`
 * header), waits for the PubAck, then deletes it from the DLQ. The Msg-Id is fixed by the DLQ
 * sequence, so when a redrive dies between the two steps, running it again within the duplicate
 * window stores nothing twice: it only finishes the delete (decision 0007).
 * @returns whether the deliveries stream already held it.
 * @throws SluiceError `SLUICE_PUBLISH_FAILED`
 */
async function redriveOne(ctx: AdminContext, t: RedriveTarget): Promise<boolean> {
  const ns = ctx.config.nats;
  const { subject, data, msgId, headers: fields } = redrivenDelivery(ns, t, t.seq, t.data);
  const h = headers();
  for (const [k, v] of Object.entries(fields)) h.set(k, v);
  try {
    const ack = await ctx.js.publish(subject, data, {
      msgID: msgId,
      headers: h,
      expect: { streamName: deliveriesStream(ns) },
    });
    await ctx.jsm.streams.deleteMessage(dlqStream(ns), t.seq, false);
    return ack.duplicate;
  } catch (cause) {
    throw new SluiceError(
      'SLUICE_PUBLISH_FAILED',
      `redriving dead letter ${t.seq} to ${subject} failed: ${(cause as Error).message}; ` +
        'running the same redrive again is safe',
      { cause, details: { seq: t.seq, subject } },
    );
  }
}
