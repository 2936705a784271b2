import { parseArgs } from 'node:util';
import { SluiceError } from '@sluice/core';

/** A command of the `sluice` binary. */
export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: Record<string, { type: 'string' | 'boolean'; short?: string; description: string }>;
}

const common = {
  config: { type: 'string', short: 'c', description: 'YAML configuration file (or SLUICE_CONFIG)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

/** Every command, in the order `sluice --help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'up',
    summary:
      'run every role (capture, router, deliverer) in one process; starts embedded servers when no URLs are set',
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
    name: 'doctor',
    summary: 'check NATS (version, JetStream) and MySQL (binlog settings, privileges) and print what to fix',
    usage: 'sluice doctor [--config FILE]',
    options: common,
  },
];

/** A parsed command line. */
export interface ParsedArgs {
  readonly command: string | undefined;
  readonly values: Record<string, string | boolean | undefined>;
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
    if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
    return { command: spec.name, values };
  } catch (cause) {
    throw new SluiceError('SLUICE_USAGE', `${(cause as Error).message}\nusage: ${spec.usage}`, { cause });
  }
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
  const opts = Object.entries(spec.options).map(
    ([k, o]) =>
      `  ${o.short ? `-${o.short}, ` : '    '}--${k}${o.type === 'string' ? ' <value>' : ''}`.padEnd(28) +
      o.description,
  );
  return [`${spec.summary}`, '', `usage: ${spec.usage}`, '', 'options:', ...opts].join('\n');
}
