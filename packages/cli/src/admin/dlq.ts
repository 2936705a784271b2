import { dlqStream } from '@sluice/core';
import type { AdminPlanner, AdminRun } from './context.js';
import {
  deadLetters,
  eventOf,
  filterOf,
  getDeadLetter,
  type DeadLetter,
  type DeadLetterFilter,
} from './dead-letter.js';
import { planRedrive } from './redrive.js';
import { renderTable, type Column } from './table.js';
import { formatTime, parseCount } from './time.js';

/** Dead letters `dlq ls` shows when no `--limit` is given. */
export const DEFAULT_DLQ_LIMIT = 100;

/** `sluice dlq ls | show | redrive`. */
export const planDlq: AdminPlanner = (args, _config, nowMs) => {
  if (args.subcommand === 'show') return showDeadLetter(parseCount('<seq>', args.operands?.[0] ?? ''));
  if (args.subcommand === 'redrive') return planRedrive(args, nowMs);
  const limit = args.values.limit;
  return listDeadLetters(
    filterOf(args, nowMs),
    typeof limit === 'string' ? parseCount('--limit', limit) : DEFAULT_DLQ_LIMIT,
  );
};

/** A dead letter as `--json` prints it (without the event; `dlq show` has that). */
export function deadLetterJson(d: DeadLetter): Record<string, unknown> {
  return {
    seq: d.seq,
    subject: d.subject,
    partition: d.partition,
    failedAt: new Date(d.failedAtMs).toISOString(),
    storedAt: new Date(d.storedAtMs).toISOString(),
    endpoint: d.endpointId,
    subscription: d.subscriptionId,
    eventId: d.eventId,
    attempts: d.attempts,
    reason: d.reason,
    status: d.status,
    error: d.error,
  };
}

const COLUMNS: readonly Column<DeadLetter>[] = [
  { heading: 'SEQ', cell: (d) => d.seq },
  { heading: 'FAILED AT', cell: (d) => formatTime(d.failedAtMs) },
  { heading: 'ENDPOINT', cell: (d) => d.endpointId },
  { heading: 'SUBSCRIPTION', cell: (d) => d.subscriptionId },
  { heading: 'EVENT ID', cell: (d) => d.eventId },
  { heading: 'ATTEMPTS', cell: (d) => d.attempts },
  { heading: 'REASON', cell: (d) => d.reason },
  {
    heading: 'STATUS/ERROR',
    cell: (d) => [d.status, d.error].filter((x) => x !== undefined).join(' ') || '-',
  },
];

function listDeadLetters(filter: DeadLetterFilter, limit: number): AdminRun {
  return async (ctx) => {
    const shown: DeadLetter[] = [];
    let more = false;
    for await (const d of deadLetters(ctx, filter)) {
      if (shown.length === limit) {
        more = true;
        break;
      }
      shown.push(d);
    }
    const truncated = `showing the first ${limit}; more dead letters match: narrow the filters or raise --limit`;
    if (ctx.json) {
      ctx.out(JSON.stringify(shown.map(deadLetterJson), null, 2));
      if (more) ctx.err(truncated);
    } else if (shown.length === 0) {
      ctx.out('no dead letters');
    } else {
      for (const line of renderTable(COLUMNS, shown)) ctx.out(line);
      ctx.out(more ? truncated : `${shown.length} dead letter(s)`);
    }
    return 0;
  };
}

function showDeadLetter(seq: number): AdminRun {
  return async (ctx) => {
    const d = await getDeadLetter(ctx, seq);
    if (ctx.json) {
      ctx.out(JSON.stringify({ ...deadLetterJson(d), headers: d.headers, event: eventOf(d) }, null, 2));
      return 0;
    }
    ctx.out(`dead letter ${d.seq} in ${dlqStream(ctx.config.nats)}`);
    ctx.out(`  subject    ${d.subject}`);
    ctx.out(`  stored at  ${new Date(d.storedAtMs).toISOString()}`);
    ctx.out('headers:');
    for (const [k, v] of Object.entries(d.headers)) ctx.out(`  ${k}: ${v}`);
    ctx.out('event:');
    const event = eventOf(d);
    ctx.out(typeof event === 'string' ? event : JSON.stringify(event, null, 2));
    return 0;
  };
}
