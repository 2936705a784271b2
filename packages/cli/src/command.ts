import type { Config } from '@sluice/core';
import type { LocalState } from './local-state.js';

/** What the binary needs from its surroundings; tests pass their own. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** The working directory the `.sluice` folder of `sluice up` is looked up in. @default process.cwd() */
  readonly cwd?: string;
}

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

/**
 * Where a command's configuration comes from when no `--config` (or `SLUICE_CONFIG`) is given:
 * - `env`: defaults and `SLUICE_*` variables only (the role commands: production wiring);
 * - `quickstart`: the bundled quick-start configuration (`sluice up`);
 * - `local`: what the `sluice up` of this folder recorded in `./.sluice` (its embedded servers), else
 *   `env` — the admin and inspection commands;
 * - `local-or-quickstart`: `local`, else what `sluice up` would run (`sluice doctor`, `sluice db`).
 */
export type ConfigSource = 'env' | 'quickstart' | 'local' | 'local-or-quickstart';

/** A parsed command line. */
export interface ParsedArgs {
  readonly command: string | undefined;
  readonly values: Record<string, string | boolean | undefined>;
  /** The sub-command, for a command that has them (the default one when none was named). */
  readonly subcommand?: string;
  /** The operands after the command and sub-command, when there are any. */
  readonly operands?: readonly string[];
  /** For a pass-through command, the arguments after `--`. */
  readonly passThrough?: readonly string[];
}

/** What a command runs with, once its command line is checked and its configuration loaded. */
export interface CommandContext {
  readonly args: ParsedArgs;
  readonly io: CliIo;
  readonly config: Config;
  /** True when no `--config`/`SLUICE_CONFIG` was given. */
  readonly implicitConfig: boolean;
  /** The configuration file loaded, absolute; undefined for defaults and `SLUICE_*` only. */
  readonly configFile: string | undefined;
  /** The `.sluice` folder the configuration came from, for `local` commands that found one. */
  readonly local: LocalState | undefined;
  /** The clock that relative times (`--since 2h`) and health records are read against. */
  readonly nowMs: number;
}

/** A command of the `sluice` binary: its command line, its help and what it runs. */
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
  /** How many operands may follow the required ones (`sluice db [database]`). @default 0 */
  readonly optionalOperands?: number;
  /** Whether the arguments after `--` are passed on as they are, e.g. to the mariadb client. */
  readonly passThrough?: boolean;
  /** Closing paragraph of `--help`. */
  readonly notes?: string;
  readonly configSource: ConfigSource;
  /** Runs the command; resolves with the process exit code. */
  run(ctx: CommandContext): Promise<number>;
}

/** `--config` and `--help`, which every command takes. */
export const COMMON_OPTIONS = {
  config: { type: 'string', short: 'c', description: 'YAML configuration file (or SLUICE_CONFIG)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const;

/** The options of the admin commands: the common ones and `--json`. */
export const ADMIN_OPTIONS = {
  ...COMMON_OPTIONS,
  json: { type: 'boolean', description: 'print JSON instead of a table' },
} as const;

/** The help line explaining TIME arguments. */
export const TIME_NOTE =
  'TIME is an ISO 8601 time (2025-06-01T12:00:00Z) or a duration ago: 30s, 30m, 2h, 7d.';
