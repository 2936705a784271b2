import { SluiceError, isSluiceError } from '@sluice/core';
import { helpText, parseCommandLine } from './args.js';
import type { CliIo } from './command.js';
import { COMMANDS } from './commands.js';
import { resolveConfig } from './config-source.js';

/** Runs the `sluice` command line; resolves with the process exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const args = parseCommandLine(argv);
    if (args.values.help === true || args.command === undefined) {
      io.out(helpText(args.command));
      return 0;
    }
    if (args.command === 'version') {
      io.out('sluice 0.1.0');
      return 0;
    }
    const spec = COMMANDS.find((c) => c.name === args.command)!;
    const { config, implicit, file, local } = await resolveConfig(spec, args, io);
    return await spec.run({
      args,
      io,
      config,
      implicitConfig: implicit,
      configFile: file,
      local,
      nowMs: Date.now(),
    });
  } catch (err) {
    io.err(formatError(err));
    return isSluiceError(err, 'SLUICE_USAGE') ? 2 : 1;
  }
}

/** One readable line (or block) for an error, with its code. */
export function formatError(err: unknown): string {
  if (err instanceof SluiceError) return `error ${err.code}: ${err.message}`;
  return `error: ${(err as Error)?.stack ?? String(err)}`;
}
