// The `sluice` binary as a library: the command line and the role wiring, for embedding sluice in
// another Node process. Nothing else in the repository imports it; the binary is bin.ts.
export { main, formatError, QUICKSTART_CONFIG } from './main.js';
export type { CliIo } from './main.js';
export { COMMANDS, helpText, parseCommandLine } from './args.js';
export type { CommandSpec, ParsedArgs } from './args.js';
export { startRoles } from './runtime.js';
export type { Role, Runtime } from './runtime.js';
