import type { CommandSpec } from './command.js';
import { attempts, dlq, endpoints } from './commands/admin.js';
import { backfillCommand } from './commands/backfill.js';
import { dbCommand } from './commands/db.js';
import { doctorCommand } from './commands/doctor.js';
import { keysCommand } from './commands/keys.js';
import { provisionCommand } from './commands/provision.js';
import { roles, up } from './commands/roles.js';
import { statusCommand } from './commands/status.js';

/** Every command of the `sluice` binary, in the order `sluice --help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  up,
  ...roles,
  statusCommand,
  doctorCommand,
  dbCommand,
  provisionCommand,
  backfillCommand,
  dlq,
  attempts,
  endpoints,
  keysCommand,
];
