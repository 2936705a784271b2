import { ADMIN_OPTIONS, TIME_NOTE, type CommandSpec } from '../command.js';
import { runAdmin } from '../admin/context.js';
import { planAttempts } from '../admin/attempts.js';
import { planDlq } from '../admin/dlq.js';
import { planEndpoints } from '../admin/endpoints.js';

const deadLetterFilters = {
  endpoint: { type: 'string', description: 'only dead letters of this endpoint id' },
  subscription: { type: 'string', description: 'only dead letters of this subscription id' },
  since: { type: 'string', description: 'only dead letters that failed at or after TIME' },
  until: { type: 'string', description: 'only dead letters that failed at or before TIME' },
  limit: { type: 'string', description: 'at most N dead letters (ls: default 100; redrive: no limit)' },
} as const;

const FILTERS = ['endpoint', 'subscription', 'since', 'until', 'limit'];

/** `sluice dlq`: SLUICE_DLQ. */
export const dlq: CommandSpec = {
  name: 'dlq',
  summary: 'list, show and redrive dead-lettered deliveries (SLUICE_DLQ)',
  usage: [
    'sluice dlq [ls] [--endpoint ID] [--subscription ID] [--since TIME] [--until TIME] [--limit N] [--json]',
    '       sluice dlq show <seq> [--json]',
    '       sluice dlq redrive [--endpoint ID] [--subscription ID] [--since TIME] [--until TIME] [--limit N]',
    '                          [--seq N] [--all] [--json]',
  ].join('\n'),
  options: {
    ...ADMIN_OPTIONS,
    ...deadLetterFilters,
    seq: { type: 'string', description: 'redrive only the dead letter with this DLQ sequence number' },
    all: { type: 'boolean', description: 'redrive every dead letter (required when no filter is given)' },
  },
  subcommands: [
    {
      name: 'ls',
      summary: 'list dead letters, oldest first (the default)',
      operands: [],
      options: FILTERS,
    },
    {
      name: 'show',
      summary: 'print one dead letter: its headers and the event',
      operands: ['seq'],
      options: [],
    },
    {
      name: 'redrive',
      summary:
        'republish dead letters to their endpoint as attempt 1, then delete them from the DLQ (idempotent)',
      operands: [],
      options: [...FILTERS, 'seq', 'all'],
    },
  ],
  notes: `${TIME_NOTE}\nredrive needs a filter, --seq or --all, so that nothing is redriven by accident.`,
  configSource: 'local',
  run: (ctx) => runAdmin(planDlq, ctx),
};

/** `sluice attempts`: SLUICE_ATTEMPTS. */
export const attempts: CommandSpec = {
  name: 'attempts',
  summary:
    'show the delivery attempts of one event, or the latest attempts of one endpoint (SLUICE_ATTEMPTS)',
  usage: 'sluice attempts <event-id | endpoint-id> [--limit N] [--json]',
  options: {
    ...ADMIN_OPTIONS,
    limit: { type: 'string', description: 'show the latest N attempts (default 50)' },
  },
  operands: ['event-id | endpoint-id'],
  notes:
    'An id that names a configured endpoint shows that endpoint’s attempts; any other id is an event id.',
  configSource: 'local',
  run: (ctx) => runAdmin(planAttempts, ctx),
};

/** `sluice endpoints`: health, breakers, backlog; enable, disable, secrets. */
export const endpoints: CommandSpec = {
  name: 'endpoints',
  summary: 'show the state of every endpoint; enable or disable one at run time; show or rotate its secret',
  usage: [
    'sluice endpoints [ls] [--json]',
    '       sluice endpoints (enable | disable) <id> [--json]',
    '       sluice endpoints secret <id> [--json]',
    '       sluice endpoints rotate-secret <id> [--overlap DURATION] [--json]',
  ].join('\n'),
  options: {
    ...ADMIN_OPTIONS,
    overlap: {
      type: 'string',
      description: 'how long the previous secret still signs next to the new one (default 24h)',
    },
  },
  subcommands: [
    {
      name: 'ls',
      summary:
        'id, url, state, failing since, pending deliveries and dead letters of each endpoint (the default)',
      operands: [],
      options: [],
    },
    {
      name: 'enable',
      summary: 'enable an endpoint and clear its breaker, throttle and failure stretch',
      operands: ['id'],
      options: [],
    },
    {
      name: 'disable',
      summary: 'disable an endpoint: its deliveries wait in SLUICE_DELIVERIES until it is enabled',
      operands: ['id'],
      options: [],
    },
    {
      name: 'secret',
      summary: 'print the secrets receivers verify with (whsec_; whpk_ for v1a) and when they expire',
      operands: ['id'],
      options: [],
    },
    {
      name: 'rotate-secret',
      summary: 'make a new secret and print it once; the previous one still signs until the overlap ends',
      operands: ['id'],
      options: ['overlap'],
    },
  ],
  notes:
    'DURATION is 30s, 30m, 2h, 7d; 0s ends the previous secret at once. secret and rotate-secret print\nsecrets on stdout, and need SLUICE_MAIN_KEY for secrets sluice manages (docs/signing.md).',
  configSource: 'local',
  run: (ctx) => runAdmin(planEndpoints, ctx),
};
