// The `sluice` binary as a library: the command line and the role wiring, for embedding sluice in
// another Node process. Nothing else in the repository imports it; the binary is bin.ts.
export { main, formatError } from './main.js';
export { QUICKSTART_CONFIG } from './config-source.js';
export type { CliIo, CommandSpec, ParsedArgs } from './command.js';
export { COMMANDS } from './commands.js';
export { helpText, parseCommandLine } from './args.js';
export { startRoles } from './runtime.js';
export type { Role, Runtime } from './runtime.js';
