import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { SluiceError, mysqlSources } from '@sluice/core';
import {
  capturedSchemas,
  findBinary,
  mariadbAnswers,
  mariadbSocket,
  preferredPort,
  startMariadb,
  type EmbeddedMariadb,
} from '@sluice/embedded';
import { COMMON_OPTIONS, type CommandContext, type CommandSpec } from '../command.js';
import { readLocalState } from '../local-state.js';

/**
 * `sluice db`: a mariadb client on the embedded database of `sluice up`, as root over its socket. When
 * sluice is stopped it starts the database itself — with the binlog settings capture needs, so rows
 * written now are captured at the next `sluice up` — and stops it when the client exits. Starting
 * mariadbd by hand without those settings would silently lose the rows.
 */
export async function runDb(ctx: CommandContext): Promise<number> {
  const { config, args, io } = ctx;
  // From a `.sluice` folder the sources' URLs are the embedded server's, filled in from its record.
  const recorded = ctx.local?.record.mariadb?.dataDir;
  if (recorded === undefined && !mysqlSources(config).some((s) => s.url === undefined))
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      '"sluice db" opens the embedded database of "sluice up", and every source of this configuration ' +
        'has a url: use your own client for those servers',
    );
  const client = await findBinary(['mariadb', 'mysql']);
  if (client === undefined)
    throw new SluiceError(
      'SLUICE_EMBEDDED_BINARY_MISSING',
      'no mariadb client: sudo apt-get install -y mariadb-client',
      {
        details: { binary: 'mariadb', package: 'mariadb-client' },
      },
    );
  const dataDir = ctx.local?.dir ?? resolve(ctx.io.cwd ?? process.cwd(), config.embedded.dataDir);
  const mariadbDir = recorded ?? join(dataDir, 'mariadb');
  let started: EmbeddedMariadb | undefined;
  if (!(await mariadbAnswers(mariadbDir))) {
    const previous = (await readLocalState(dataDir))?.record;
    io.err(`sluice is not running: starting the embedded mariadbd of ${mariadbDir} for this session`);
    started = await startMariadb({
      dataDir: mariadbDir,
      port: await preferredPort(previous?.mariadb?.port),
      initSql: config.embedded.initSql,
      captureSchemas: capturedSchemas(config, ctx.local?.record.mariadb?.captureUrl),
    });
    io.err('(binlog on, row format: what you write now is captured at the next "sluice up")');
  }
  try {
    const database = args.operands?.[0] ?? defaultDatabase(ctx);
    const sql = args.values.execute as string | undefined;
    const argv = [
      '--no-defaults',
      '-uroot',
      `--socket=${mariadbSocket(mariadbDir)}`,
      ...(sql !== undefined ? ['-e', sql] : []),
      ...(args.passThrough ?? []),
      ...(database !== undefined ? [database] : []),
    ];
    // Ctrl-C reaches the whole process group: the client decides what it means (cancel a query, or
    // exit), and this process must live on to stop the database it started.
    const ignore = (): void => undefined;
    process.on('SIGINT', ignore);
    try {
      const child = spawn(client, argv, { stdio: 'inherit' });
      const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      return code ?? (signal !== null ? 1 : 0);
    } finally {
      process.off('SIGINT', ignore);
    }
  } finally {
    if (started !== undefined) {
      await started.stop();
      io.err('stopped the embedded mariadbd');
    }
  }
}

// The one schema the embedded sources capture, when there is exactly one (`shop` in the quick start).
function defaultDatabase(ctx: CommandContext): string | undefined {
  const schemas = capturedSchemas(ctx.config, ctx.local?.record.mariadb?.captureUrl);
  return schemas?.length === 1 ? schemas[0] : undefined;
}

/** `sluice db`. */
export const dbCommand: CommandSpec = {
  name: 'db',
  summary:
    "open a mariadb client on sluice up's embedded database; starts it (binlog on) when sluice is stopped",
  usage: 'sluice db [DATABASE] [-e SQL] [--config FILE] [-- CLIENT-OPTIONS…]',
  options: {
    ...COMMON_OPTIONS,
    execute: { type: 'string', short: 'e', description: 'run SQL and exit, as mariadb -e does' },
  },
  optionalOperands: 1,
  passThrough: true,
  notes:
    'DATABASE defaults to the one schema the embedded sources capture (shop in the quick start). Rows\nwritten while sluice is stopped are captured, once, at the next "sluice up": the database started\nhere has the binlog settings capture needs, and is stopped again when the client exits.',
  configSource: 'local-or-quickstart',
  run: runDb,
};
