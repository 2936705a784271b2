import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SluiceError, connectNats, provisionStreams, type Config } from '@sluice/core';
import { planAttempts } from './admin-attempts.js';
import { planDlq } from './admin-dlq.js';
import { planEndpoints } from './admin-endpoints.js';
import type { ParsedArgs } from './args.js';
import type { CliIo } from './main.js';

/** What an admin command runs against once its command line has been checked. */
export interface AdminContext {
  readonly config: Config;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly js: JetStreamClient;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** `--json`: print one JSON document on stdout instead of tables. */
  readonly json: boolean;
  /** The process environment (`SLUICE_MAIN_KEY` for `endpoints secret|rotate-secret`). */
  readonly env: CliIo['env'];
}

/** An admin command with a checked command line, ready to run; resolves with the exit code. */
export type AdminRun = (ctx: AdminContext) => Promise<number>;

/**
 * Checks an admin command line against the configuration and returns what to run, so that a mistyped
 * command fails before anything connects.
 * @throws SluiceError `SLUICE_USAGE`, `SLUICE_UNKNOWN_ENDPOINT`
 */
export type AdminPlanner = (args: ParsedArgs, config: Config, nowMs: number) => AdminRun;

const PLANNERS: Readonly<Record<string, AdminPlanner>> = {
  dlq: planDlq,
  attempts: planAttempts,
  endpoints: planEndpoints,
};

/** True for the commands {@link runAdmin} runs: `dlq`, `attempts`, `endpoints`. */
export function isAdminCommand(command: string): boolean {
  return Object.hasOwn(PLANNERS, command);
}

/**
 * Runs an admin command: checks its command line, connects to NATS (`nats.url`), makes sure the
 * streams exist, runs it, and closes the connection.
 * @param nowMs the clock that relative times (`--since 2h`) and health records are read against.
 */
export async function runAdmin(args: ParsedArgs, config: Config, io: CliIo, nowMs: number): Promise<number> {
  const planner = args.command === undefined ? undefined : PLANNERS[args.command];
  if (!planner) throw new SluiceError('SLUICE_USAGE', `"${args.command}" is not an admin command`);
  const run = planner(args, config, nowMs);
  if (config.nats.url === undefined)
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `nats.url (SLUICE_NATS_URL) is required: "sluice ${args.command}" reads a running NATS server`,
    );
  const { nc, jsm } = await connectNats(config.nats, { name: `sluice-${args.command}` });
  try {
    // The streams may not exist yet on a fresh server; reading them must not fail for that.
    await provisionStreams(jsm, config.nats);
    return await run({
      config,
      nc,
      jsm,
      js: jsm.jetstream(),
      out: io.out,
      err: io.err,
      json: args.values.json === true,
      env: io.env,
    });
  } finally {
    await nc.close();
  }
}
