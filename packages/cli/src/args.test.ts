import { isSluiceError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { helpText, parseCommandLine } from './args.js';
import { COMMANDS } from './commands.js';

function usageError(argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (err) {
    expect(isSluiceError(err, 'SLUICE_USAGE')).toBe(true);
    return (err as Error).message;
  }
  throw new Error(`parseCommandLine(${JSON.stringify(argv)}) did not throw`);
}

// A command with required operands (`attempts <id>`) needs them to be a complete command line; one
// with optional operands (`db [database]`) takes them all, so that one more is a stray.
const OPERANDS: Readonly<Record<string, string[]>> = {
  attempts: ['evt_1'],
  backfill: ['shop'],
  db: ['shop'],
};
const complete = (name: string): string[] => [name, ...(OPERANDS[name] ?? [])];

describe('parseCommandLine', () => {
  it('knows the roles and doctor', () => {
    expect(COMMANDS.map((c) => c.name)).toEqual(
      expect.arrayContaining(['up', 'capture', 'router', 'deliverer', 'doctor']),
    );
  });

  it.each(COMMANDS.map((c) => c.name))('parses "%s --help" and "%s -h"', (name) => {
    expect(parseCommandLine([name, '--help'])).toEqual({ command: name, values: { help: true } });
    expect(parseCommandLine([name, '-h'])).toEqual({ command: name, values: { help: true } });
  });

  it.each(COMMANDS.map((c) => c.name))('parses "%s --config FILE" and "-c FILE"', (name) => {
    expect(parseCommandLine([...complete(name), '--config', 'a.yaml']).values.config).toBe('a.yaml');
    expect(parseCommandLine([...complete(name), '-c', 'b.yaml']).values.config).toBe('b.yaml');
    expect(parseCommandLine(complete(name)).command).toBe(name);
  });

  it('parses "up --demo"', () => {
    expect(parseCommandLine(['up', '--demo']).values.demo).toBe(true);
  });

  it('treats no arguments, --help, -h and help as the overview', () => {
    for (const argv of [[], ['--help'], ['-h'], ['help']])
      expect(parseCommandLine(argv)).toEqual({ command: undefined, values: { help: true } });
  });

  it('passes the arguments after -- on to the program of a pass-through command', () => {
    const args = parseCommandLine(['db', 'shop', '-e', 'SELECT 1', '--', '--table', '-e', 'x']);
    expect(args.operands).toEqual(['shop']);
    expect(args.values.execute).toBe('SELECT 1');
    expect(args.passThrough).toEqual(['--table', '-e', 'x']);
    expect(usageError(['router', '--', 'x'])).toMatch(/unexpected argument "x"/);
  });

  it('refuses an unknown command with SLUICE_USAGE', () => {
    expect(usageError(['bogus'])).toMatch(/unknown command "bogus"/);
    expect(usageError(['--bogus'])).toMatch(/unknown command/);
  });

  it.each(COMMANDS.map((c) => c.name))(
    'refuses an unknown option, a stray argument and a missing value for "%s"',
    (name) => {
      const spec = COMMANDS.find((c) => c.name === name)!;
      expect(usageError([name, '--bogus'])).toContain(`usage: ${spec.usage}`);
      expect(usageError([...complete(name), 'extra'])).toMatch(/unexpected argument "extra"/);
      expect(usageError([name, '--config'])).toContain(`usage: ${spec.usage}`);
    },
  );

  it('refuses an option of another command', () => {
    expect(usageError(['router', '--demo'])).toMatch(/demo/);
  });
});

describe('helpText', () => {
  it('lists every command with its summary in the overview', () => {
    const text = helpText(undefined);
    expect(text).toContain('usage: sluice <command> [options]');
    for (const c of COMMANDS)
      expect(text).toMatch(
        new RegExp(`^  ${c.name} +${c.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
      );
  });

  it.each(COMMANDS.map((c) => c.name))('shows the usage and every option of "%s"', (name) => {
    const spec = COMMANDS.find((c) => c.name === name)!;
    const text = helpText(name);
    expect(text).toContain(`usage: ${spec.usage}`);
    for (const [option, o] of Object.entries(spec.options)) {
      expect(text).toContain(`--${option}`);
      expect(text).toContain(o.description);
      if (o.short) expect(text).toContain(`-${o.short}, --${option}`);
    }
  });
});

describe('parseCommandLine: admin sub-commands', () => {
  it('reads the sub-command and its operands', () => {
    expect(parseCommandLine(['dlq', 'show', '42', '--json'])).toEqual({
      command: 'dlq',
      subcommand: 'show',
      operands: ['42'],
      values: { json: true },
    });
    expect(parseCommandLine(['endpoints', 'disable', 'hook'])).toMatchObject({
      subcommand: 'disable',
      operands: ['hook'],
    });
    expect(parseCommandLine(['attempts', 'evt_1', '--limit', '5'])).toMatchObject({
      command: 'attempts',
      operands: ['evt_1'],
      values: { limit: '5' },
    });
  });

  it('runs the first sub-command when none is named', () => {
    expect(parseCommandLine(['dlq', '--endpoint', 'hook']).subcommand).toBe('ls');
    expect(parseCommandLine(['endpoints']).subcommand).toBe('ls');
  });

  it('accepts options anywhere on the line', () => {
    expect(parseCommandLine(['dlq', '--since', '2h', 'redrive', '--endpoint', 'a'])).toMatchObject({
      subcommand: 'redrive',
      values: { since: '2h', endpoint: 'a' },
    });
  });

  it('refuses an unknown sub-command, naming the ones there are', () => {
    expect(usageError(['dlq', 'purge'])).toMatch(/unexpected argument "purge".*ls, show, redrive/);
    expect(usageError(['endpoints', 'remove', 'a'])).toMatch(/unexpected argument "remove"/);
  });

  it('refuses a missing or an extra operand', () => {
    expect(usageError(['dlq', 'show'])).toMatch(/missing <seq>/);
    expect(usageError(['dlq', 'show', '1', '2'])).toMatch(/unexpected argument "2"/);
    expect(usageError(['endpoints', 'enable'])).toMatch(/missing <id>/);
    expect(usageError(['attempts'])).toMatch(/missing <event-id \| endpoint-id>/);
    expect(usageError(['dlq', 'ls', 'hook'])).toMatch(/unexpected argument "hook"/);
  });

  it('refuses an option of another sub-command', () => {
    expect(usageError(['dlq', 'ls', '--all'])).toMatch(/--all does not apply to "sluice dlq ls"/);
    expect(usageError(['dlq', 'show', '3', '--endpoint', 'a'])).toMatch(/--endpoint does not apply/);
  });

  it('still shows the help of a command line that is incomplete', () => {
    expect(parseCommandLine(['dlq', 'show', '--help'])).toEqual({ command: 'dlq', values: { help: true } });
    expect(parseCommandLine(['attempts', '-h'])).toEqual({ command: 'attempts', values: { help: true } });
  });
});

describe('helpText: admin commands', () => {
  it.each(COMMANDS.filter((c) => c.subcommands).map((c) => c.name))(
    'lists every sub-command of "%s" with its summary',
    (name) => {
      const spec = COMMANDS.find((c) => c.name === name)!;
      const text = helpText(name);
      for (const s of spec.subcommands!) expect(text).toMatch(new RegExp(`^  ${s.name} +\\S`, 'm'));
    },
  );

  it('keeps a space between every option and its description', () => {
    for (const c of COMMANDS)
      for (const line of helpText(c.name)
        .split('\n')
        .filter((l) => /^ {2}(-\w, | {4})--/.test(l)))
        expect(line).toMatch(/^ {2}(-\w, | {4})--\S+( <value>)? {2,}\S/);
  });
});
