import { attemptsFilter, attemptsStream } from '@sluice/core';
import { decodeAttempt, type AttemptRecord } from '@sluice/deliverer';
import type { AdminPlanner, AdminRun } from './context.js';
import { readLatest } from './scan.js';
import { renderTable, type Column } from './table.js';
import { formatTime, parseCount } from './time.js';

/** Attempts `sluice attempts` shows when no `--limit` is given. */
export const DEFAULT_ATTEMPTS_LIMIT = 50;

/**
 * `sluice attempts <event-id | endpoint-id>`: the latest attempt records of an endpoint (when the id
 * names a configured one) or of an event, oldest of them first. Both are subject filters on
 * `SLUICE_ATTEMPTS` (decision 0007), so the server does the selecting.
 */
export const planAttempts: AdminPlanner = (args, config) => {
  const id = args.operands?.[0] ?? '';
  const limit =
    typeof args.values.limit === 'string' ? parseCount('--limit', args.values.limit) : DEFAULT_ATTEMPTS_LIMIT;
  const isEndpoint = config.endpoints.some((e) => e.id === id);
  const by = isEndpoint ? { endpointId: id } : { eventId: id };
  return showAttempts(by, limit);
};

const COLUMNS: readonly Column<AttemptRecord>[] = [
  { heading: 'TIME', cell: (r) => formatTime(r.at) },
  { heading: 'ENDPOINT', cell: (r) => r.endpointId },
  { heading: 'EVENT', cell: (r) => r.eventId },
  { heading: 'ATTEMPT', cell: (r) => r.attempt },
  { heading: 'OUTCOME', cell: (r) => r.outcome },
  {
    heading: 'STATUS/ERROR',
    cell: (r) => [r.status, r.error].filter((x) => x !== undefined).join(' ') || '-',
  },
  { heading: 'LATENCY MS', cell: (r) => (r.latencyMs === undefined ? undefined : Math.round(r.latencyMs)) },
  { heading: 'NEXT AT', cell: (r) => (r.nextAt === undefined ? undefined : formatTime(r.nextAt)) },
];

function showAttempts(by: { endpointId: string } | { eventId: string }, limit: number): AdminRun {
  return async (ctx) => {
    const ns = ctx.config.nats;
    const messages = await readLatest(ctx.js, ctx.jsm, {
      stream: attemptsStream(ns),
      filter: attemptsFilter(ns, by),
      limit,
    });
    const records: AttemptRecord[] = [];
    for (const m of messages) {
      try {
        records.push(decodeAttempt(m.data));
      } catch {
        ctx.err(`attempt record ${m.seq} on ${m.subject} is not JSON; skipped`);
      }
    }
    const what = 'endpointId' in by ? `endpoint ${by.endpointId}` : `event ${by.eventId}`;
    if (ctx.json) ctx.out(JSON.stringify(records, null, 2));
    else if (records.length === 0)
      ctx.out(
        'endpointId' in by
          ? `no attempts recorded for ${what}`
          : `no attempts recorded for ${what} (no endpoint of this configuration has that id either)`,
      );
    else {
      for (const line of renderTable(COLUMNS, records)) ctx.out(line);
      ctx.out(
        records.length < limit
          ? `${records.length} attempt(s) of ${what}`
          : `the latest ${records.length} attempt(s) of ${what}; --limit shows more`,
      );
    }
    return 0;
  };
}
