import { Backfill, type TableRef } from '@sluice/capture';
import {
  SluiceError,
  connectNats,
  createLogger,
  mysqlSources,
  openBackfill,
  openCheckpoints,
  provisionStreams,
  type Config,
  type MysqlSourceConfig,
} from '@sluice/core';
import { COMMON_OPTIONS, type CliIo, type CommandSpec, type ParsedArgs } from '../command.js';
import { ProgressReporter, formatSummary } from './backfill-report.js';
import { requireNats } from '../admin/context.js';

/** A checked `sluice backfill` command line. */
export interface BackfillPlan {
  readonly source: MysqlSourceConfig & { readonly url: string };
  readonly tables: readonly TableRef[] | undefined;
  readonly chunkRows: number;
  readonly restart: boolean;
  readonly json: boolean;
}

const MAX_CHUNK = 100_000;

/**
 * Checks `sluice backfill <source> [--tables db.t1,db.t2] [--chunk N] [--restart] [--json]` against the
 * configuration, before anything connects.
 * @throws SluiceError `SLUICE_USAGE`, `SLUICE_CONFIG_INVALID`
 */
export function planBackfill(args: ParsedArgs, config: Config): BackfillPlan {
  const id = args.operands?.[0];
  // Only MySQL sources have rows to backfill; an object-store source is refused like an unknown one.
  const sources = mysqlSources(config);
  const source = sources.find((s) => s.id === id);
  if (source === undefined) {
    const known = sources.map((s) => s.id).join(', ') || 'none';
    throw new SluiceError('SLUICE_USAGE', `unknown MySQL source "${id}" (configured: ${known})`);
  }
  const missing = [
    ...(config.nats.url === undefined ? ['nats.url (SLUICE_NATS_URL)'] : []),
    ...(source.url === undefined ? [`sources[${source.id}].url`] : []),
  ];
  if (missing.length > 0)
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `"sluice backfill" reads a running MySQL and NATS: set ${missing.join(' and ')}`,
    );
  const chunkText = args.values.chunk as string | undefined;
  const chunkRows = chunkText === undefined ? 1000 : Number(chunkText);
  if (!Number.isInteger(chunkRows) || chunkRows < 1 || chunkRows > MAX_CHUNK)
    throw new SluiceError('SLUICE_USAGE', `--chunk must be a whole number from 1 to ${MAX_CHUNK}`);
  return {
    source: { ...source, url: source.url! },
    tables: parseTables(args.values.tables as string | undefined),
    chunkRows,
    restart: args.values.restart === true,
    json: args.values.json === true,
  };
}

/** `db.t1,db.t2` → table refs; the first dot separates schema and table, as in `include`. */
export function parseTables(text: string | undefined): TableRef[] | undefined {
  if (text === undefined) return undefined;
  const refs = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const dot = s.indexOf('.');
      if (dot <= 0 || dot === s.length - 1)
        throw new SluiceError('SLUICE_USAGE', `--tables: "${s}" is not <database>.<table>`);
      return { database: s.slice(0, dot), table: s.slice(dot + 1) };
    });
  if (refs.length === 0) throw new SluiceError('SLUICE_USAGE', '--tables names no table');
  return refs;
}

/**
 * `sluice backfill`: publishes the rows of a source's tables as `read` events, printing progress on
 * stderr and a summary at the end (JSON on stdout with `--json`). SIGINT/SIGTERM stop after the chunk
 * in progress; a rerun continues. Resolves with the exit code: 0 once every table is done.
 */
export async function runBackfill(args: ParsedArgs, config: Config, io: CliIo): Promise<number> {
  const plan = planBackfill(args, config);
  const logger = createLogger(config.logging);
  const { nc, jsm } = await connectNats(config.nats, { name: `sluice-backfill-${plan.source.id}` });
  const started = Date.now();
  const reporter = new ProgressReporter(io.err, Date.now);
  let backfill: Backfill | undefined;
  const onSignal = (): void => backfill?.stop();
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    await provisionStreams(jsm, config.nats);
    backfill = new Backfill({
      source: plan.source,
      nats: config.nats,
      capture: config.capture,
      nc,
      progress: await openBackfill(nc, config.nats),
      checkpoints: await openCheckpoints(nc, config.nats),
      ...(plan.tables ? { tables: plan.tables } : {}),
      chunkRows: plan.chunkRows,
      restart: plan.restart,
      logger,
      onProgress: (s) => reporter.update(s),
    });
    const summary = await backfill.run();
    for (const line of formatSummary(summary, Date.now() - started, reporter.rate(summary))) io.err(line);
    if (plan.json) io.out(JSON.stringify(summary));
    return summary.complete ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await nc.close();
  }
}

/** `sluice backfill`. */
export const backfillCommand: CommandSpec = {
  name: 'backfill',
  summary: "publish the rows a source's tables already hold as read events (chunked, resumable)",
  usage: 'sluice backfill <source> [--tables DB.TABLE,…] [--chunk N] [--restart] [--json] [--config FILE]',
  options: {
    ...COMMON_OPTIONS,
    tables: { type: 'string', description: 'only these tables (default: every table the source captures)' },
    chunk: { type: 'string', description: 'rows per chunk, read and locked together (default 1000)' },
    restart: { type: 'boolean', description: 'abandon an unfinished run of this source and start over' },
    json: { type: 'boolean', description: 'print the final summary as JSON on stdout' },
  },
  operands: ['source'],
  notes:
    'Capture must be running (or have a checkpoint) for the source. Rows are share-locked while their\nevents are published, so a read never overtakes a live change of its row (docs/backfill.md).\nA rerun of an interrupted backfill continues where it stopped.',
  configSource: 'local',
  run: (ctx) => {
    requireNats(ctx);
    return runBackfill(ctx.args, ctx.config, ctx.io);
  },
};
