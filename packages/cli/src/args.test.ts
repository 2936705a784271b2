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
