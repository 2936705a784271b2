import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SluiceError, connectNats, provisionStreams, type Config } from '@sluice/core';
import type { CliIo, CommandContext, ParsedArgs } from '../command.js';

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

/**
 * Runs an admin command: checks its command line, connects to NATS (`nats.url`, or the embedded
 * server of `./.sluice`), makes sure the streams exist, runs it, and closes the connection.
 */
export async function runAdmin(planner: AdminPlanner, ctx: CommandContext): Promise<number> {
  const { args, config, io } = ctx;
  const run = planner(args, config, ctx.nowMs);
  requireNats(ctx);
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

/**
 * Fails with what to do when a command that reads NATS has no server to read: no `nats.url`, or the
 * embedded servers of `./.sluice` are stopped.
 * @throws SluiceError `SLUICE_CONFIG_INVALID`, `SLUICE_NOT_RUNNING`
 */
export function requireNats(ctx: CommandContext): void {
  const command = ctx.args.command ?? '';
  if (ctx.local !== undefined && !ctx.local.running)
    throw new SluiceError(
      'SLUICE_NOT_RUNNING',
      `"sluice ${command}" reads the embedded NATS server of ${ctx.local.label}, which runs only while ` +
        '"sluice up" does: start it again (sluice up), or pass --config / SLUICE_NATS_URL for another server',
    );
  if (ctx.config.nats.url === undefined)
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `nats.url (SLUICE_NATS_URL) is required: "sluice ${command}" reads a running NATS server; run it ` +
        'from the folder of a running "sluice up" (it records its servers in .sluice/), or pass --config',
    );
}
