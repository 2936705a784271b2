import { parseArgs } from 'node:util';
import { SluiceError } from '@sluice/core';

/** One option of a command, as `node:util` `parseArgs` takes it plus the line `--help` prints. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly description: string;
}

/** A sub-command (`sluice dlq show <seq>`): its operands and the options it accepts. */
export interface SubcommandSpec {
  readonly name: string;
  readonly summary: string;
  /** Names of the operands after the sub-command, each required, e.g. `['seq']`. */
  readonly operands: readonly string[];
  /** The command's options this sub-command accepts besides `--config`, `--help` and `--json`. */
  readonly options: readonly string[];
}

/** A command of the `sluice` binary. */
export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** One line per form; continuation lines are indented to align under the first. */
  readonly usage: string;
  readonly options: Record<string, OptionSpec>;
  /** Sub-commands; the first is the one run when none is named. */
  readonly subcommands?: readonly SubcommandSpec[];
  /** Operands of a command without sub-commands, each required, e.g. `['id']`. */
  readonly operands?: readonly string[];
  /** Closing paragraph of `--help`. */
  readonly notes?: string;
}

const common = {
  config: { type: 'string', short: 'c', description: 'YAML configuration file (or SLUICE_CONFIG)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

const admin = {
  ...common,
  json: { type: 'boolean', description: 'print JSON instead of a table' },
} as const;

const deadLetterFilters = {
  endpoint: { type: 'string', description: 'only dead letters of this endpoint id' },
  subscription: { type: 'string', description: 'only dead letters of this subscription id' },
  since: { type: 'string', description: 'only dead letters that failed at or after TIME' },
  until: { type: 'string', description: 'only dead letters that failed at or before TIME' },
  limit: { type: 'string', description: 'at most N dead letters (ls: default 100; redrive: no limit)' },
} as const;

const FILTERS = ['endpoint', 'subscription', 'since', 'until', 'limit'];

const TIME_NOTE = 'TIME is an ISO 8601 time (2025-06-01T12:00:00Z) or a duration ago: 30s, 30m, 2h, 7d.';

/** Every command, in the order `sluice --help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'up',
    summary:
      'run every role (api, capture, router, deliverer) in one process; starts embedded servers when no URLs are set',
    usage: 'sluice up [--config FILE] [--demo]',
    options: {
      ...common,
      demo: {
        type: 'boolean',
        description: 'start a demo receiver that verifies and prints every event, subscribed to all events',
      },
    },
  },
  {
    name: 'capture',
    summary: 'run the capture role: binlog → SLUICE_EVENTS',
    usage: 'sluice capture [--config FILE]',
    options: common,
  },
  {
    name: 'router',
    summary: 'run the router role: SLUICE_EVENTS → SLUICE_DELIVERIES',
    usage: 'sluice router [--config FILE]',
    options: common,
  },
  {
    name: 'deliverer',
    summary: 'run the deliverer role: SLUICE_DELIVERIES → HTTP endpoints',
    usage: 'sluice deliverer [--config FILE]',
    options: common,
  },
  {
    name: 'api',
    summary: 'run the HTTP API role: event ingest → SLUICE_EVENTS, on api.host:api.port (docs/api.md)',
    usage: 'sluice api [--config FILE]',
    options: common,
  },
  {
    name: 'doctor',
    summary: 'check NATS (version, JetStream) and MySQL (binlog settings, privileges) and print what to fix',
    usage: 'sluice doctor [--config FILE]',
    options: common,
  },
  {
    name: 'provision',
    summary: 'create or update every stream, KV bucket and object store the configuration needs, then exit',
    usage: 'sluice provision [--config FILE]',
    options: common,
    notes:
      'Run it as a NATS user allowed to create streams, once and after changing a stream setting; roles whose\nusers may not create them then run with nats.provision: false (docs/nats-security.md#provisioning).',
  },
  {
    name: 'backfill',
    summary: "publish the rows a source's tables already hold as read events (chunked, resumable)",
    usage: 'sluice backfill <source> [--tables DB.TABLE,…] [--chunk N] [--restart] [--json] [--config FILE]',
    options: {
      ...common,
      tables: { type: 'string', description: 'only these tables (default: every table the source captures)' },
      chunk: { type: 'string', description: 'rows per chunk, read and locked together (default 1000)' },
      restart: { type: 'boolean', description: 'abandon an unfinished run of this source and start over' },
      json: { type: 'boolean', description: 'print the final summary as JSON on stdout' },
    },
    operands: ['source'],
    notes:
      'Capture must be running (or have a checkpoint) for the source. Rows are share-locked while their\nevents are published, so a read never overtakes a live change of its row (docs/backfill.md).\nA rerun of an interrupted backfill continues where it stopped.',
  },
  {
    name: 'dlq',
    summary: 'list, show and redrive dead-lettered deliveries (SLUICE_DLQ)',
    usage: [
      'sluice dlq [ls] [--endpoint ID] [--subscription ID] [--since TIME] [--until TIME] [--limit N] [--json]',
      '       sluice dlq show <seq> [--json]',
      '       sluice dlq redrive [--endpoint ID] [--subscription ID] [--since TIME] [--until TIME] [--limit N]',
      '                          [--seq N] [--all] [--json]',
    ].join('\n'),
    options: {
      ...admin,
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
  },
  {
    name: 'attempts',
    summary:
      'show the delivery attempts of one event, or the latest attempts of one endpoint (SLUICE_ATTEMPTS)',
    usage: 'sluice attempts <event-id | endpoint-id> [--limit N] [--json]',
    options: {
      ...admin,
      limit: { type: 'string', description: 'show the latest N attempts (default 50)' },
    },
    operands: ['event-id | endpoint-id'],
    notes:
      'An id that names a configured endpoint shows that endpoint’s attempts; any other id is an event id.',
  },
  {
    name: 'endpoints',
    summary: 'show the state of every endpoint; enable or disable one at run time; show or rotate its secret',
    usage: [
      'sluice endpoints [ls] [--json]',
      '       sluice endpoints (enable | disable) <id> [--json]',
      '       sluice endpoints secret <id> [--json]',
      '       sluice endpoints rotate-secret <id> [--overlap DURATION] [--json]',
    ].join('\n'),
    options: {
      ...admin,
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
  },
  {
    name: 'keys',
    summary: 'create, list and revoke the API keys of the HTTP API',
    usage: [
      'sluice keys create --scope ingest|read|admin [--name NAME] [--json]',
      '       sluice keys [ls] [--json]',
      '       sluice keys revoke <id> [--json]',
    ].join('\n'),
    options: {
      ...admin,
      scope: { type: 'string', description: 'what the key may do: ingest, read or admin (create)' },
      name: { type: 'string', description: 'a label for the key, e.g. the service that uses it (create)' },
    },
    subcommands: [
      {
        name: 'ls',
        summary: 'id, scope, name, creation and revocation time of every key (the default)',
        operands: [],
        options: [],
      },
      {
        name: 'create',
        summary: 'create a key and print it on stdout, once: only its hash is stored',
        operands: [],
        options: ['scope', 'name'],
      },
      {
        name: 'revoke',
        summary: 'revoke a key by its id: the API refuses it within about a second',
        operands: ['id'],
        options: [],
      },
    ],
    notes:
      'A key is slk_<id>_<secret>; send it as "Authorization: Bearer <key>". Keys live hashed in the\n<prefix>_apikeys KV bucket; every command here needs nats.url.',
  },
];

/** A parsed command line. */
export interface ParsedArgs {
  readonly command: string | undefined;
  readonly values: Record<string, string | boolean | undefined>;
  /** The sub-command, for a command that has them (the default one when none was named). */
  readonly subcommand?: string;
  /** The operands after the command and sub-command, when there are any. */
  readonly operands?: readonly string[];
}

/** Parses `argv` (without node and script) for the command it names. */
export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help')
    return { command: undefined, values: { help: true } };
  if (first === '--version' || first === '-v') return { command: 'version', values: {} };
  const spec = COMMANDS.find((c) => c.name === first);
  if (!spec) throw new SluiceError('SLUICE_USAGE', `unknown command "${first}"; run sluice --help`);
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: spec.options,
      strict: true,
      allowPositionals: true,
    });
    // --help wins over everything else, so that a half-typed command line still gets its help.
    if (values.help === true) return { command: spec.name, values };
    return { command: spec.name, values, ...operandsOf(spec, positionals, values) };
  } catch (cause) {
    throw new SluiceError('SLUICE_USAGE', `${(cause as Error).message}\nusage: ${spec.usage}`, { cause });
  }
}

function operandsOf(
  spec: CommandSpec,
  positionals: string[],
  values: Record<string, unknown>,
): { subcommand?: string; operands?: string[] } {
  let sub: SubcommandSpec | undefined;
  let rest = positionals;
  if (spec.subcommands) {
    const [name, ...after] = positionals;
    sub = name === undefined ? spec.subcommands[0] : spec.subcommands.find((s) => s.name === name);
    if (!sub)
      throw new Error(
        `unexpected argument "${name}": sluice ${spec.name} has ${spec.subcommands.map((s) => s.name).join(', ')}`,
      );
    rest = after;
    const allowed = new Set([...Object.keys(admin), ...sub.options]);
    const stray = Object.keys(values).find((k) => !allowed.has(k));
    if (stray !== undefined)
      throw new Error(`option --${stray} does not apply to "sluice ${spec.name} ${sub.name}"`);
  }
  const wanted = sub?.operands ?? spec.operands ?? [];
  if (rest.length > wanted.length) throw new Error(`unexpected argument "${rest[wanted.length]}"`);
  if (rest.length < wanted.length) throw new Error(`missing <${wanted[rest.length]}>`);
  return {
    ...(sub ? { subcommand: sub.name } : {}),
    ...(rest.length > 0 ? { operands: rest } : {}),
  };
}

/** Help text for one command, or the overview when `name` is undefined. */
export function helpText(name: string | undefined): string {
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) {
    const width = Math.max(...COMMANDS.map((c) => c.name.length));
    return [
      'sluice — change data capture to verified webhooks on NATS JetStream',
      '',
      'usage: sluice <command> [options]',
      '',
      'commands:',
      ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
      '',
      'Every command accepts --config FILE and --help. Settings can also come from SLUICE_* environment',
      'variables (docs/configuration.md). Run "sluice <command> --help" for details.',
    ].join('\n');
  }
  const flags = Object.entries(spec.options).map(
    ([k, o]) =>
      [`  ${o.short ? `-${o.short}, ` : '    '}--${k}${o.type === 'string' ? ' <value>' : ''}`, o] as const,
  );
  const column = Math.max(28, ...flags.map(([f]) => f.length + 2));
  const lines = [`${spec.summary}`, '', `usage: ${spec.usage}`];
  if (spec.subcommands) {
    const width = Math.max(...spec.subcommands.map((s) => s.name.length));
    lines.push(
      '',
      'sub-commands:',
      ...spec.subcommands.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`),
    );
  }
  lines.push('', 'options:', ...flags.map(([f, o]) => f.padEnd(column) + o.description));
  if (spec.notes !== undefined) lines.push('', spec.notes);
  return lines.join('\n');
}
