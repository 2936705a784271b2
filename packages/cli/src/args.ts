import { parseArgs } from 'node:util';
import { SluiceError } from '@sluice/core';
import { ADMIN_OPTIONS, type CommandSpec, type ParsedArgs, type SubcommandSpec } from './command.js';
import { COMMANDS } from './commands.js';

/** Parses `argv` (without node and script) for the command it names. */
export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help')
    return { command: undefined, values: { help: true } };
  if (first === '--version' || first === '-v') return { command: 'version', values: {} };
  const spec = COMMANDS.find((c) => c.name === first);
  if (!spec) throw new SluiceError('SLUICE_USAGE', `unknown command "${first}"; run sluice --help`);
  // A pass-through command (sluice db) hands everything after `--` to the program it runs.
  const cut = spec.passThrough === true ? rest.indexOf('--') : -1;
  const own = cut < 0 ? rest : rest.slice(0, cut);
  const passed = cut < 0 ? undefined : rest.slice(cut + 1);
  try {
    const { values, positionals } = parseArgs({
      args: [...own],
      options: spec.options,
      strict: true,
      allowPositionals: true,
    });
    // --help wins over everything else, so that a half-typed command line still gets its help.
    if (values.help === true) return { command: spec.name, values };
    return {
      command: spec.name,
      values,
      ...operandsOf(spec, positionals, values),
      ...(passed ? { passThrough: passed } : {}),
    };
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
    const allowed = new Set([...Object.keys(ADMIN_OPTIONS), ...sub.options]);
    const stray = Object.keys(values).find((k) => !allowed.has(k));
    if (stray !== undefined)
      throw new Error(`option --${stray} does not apply to "sluice ${spec.name} ${sub.name}"`);
  }
  const wanted = sub?.operands ?? spec.operands ?? [];
  const optional = spec.optionalOperands ?? 0;
  if (rest.length > wanted.length + optional)
    throw new Error(`unexpected argument "${rest[wanted.length + optional]}"`);
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
