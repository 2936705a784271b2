import { checkMysql } from '@sluice/capture';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MIN_NATS_SERVER_VERSION,
  createLogger,
  connectNats,
  isSluiceError,
  mysqlSources,
  type Config,
  type MysqlSourceConfig,
} from '@sluice/core';
import { COMMON_OPTIONS, type CommandContext, type CommandSpec } from '../command.js';
import { findBinary, startEmbedded, type EmbeddedServers } from '@sluice/embedded';

interface Check {
  readonly ok: boolean;
  readonly what: string;
  readonly fix?: string;
  /** A passing check that deserves attention: printed with ⚠, does not fail the run. */
  readonly warning?: boolean;
}

/**
 * `sluice doctor`: checks NATS (reachable, version ≥ 2.9.10, JetStream on) and every MySQL source
 * (binlog settings, the capture user's privileges for the server's flavour), prints one line per
 * check and what to do about each failure or warning (e.g. privileges beyond what capture needs).
 * Resolves with the exit code: 0 when nothing failed (warnings included), 1 otherwise.
 */
export async function runDoctor(ctx: CommandContext): Promise<number> {
  const print = ctx.io.out;
  const checks = await withServers(ctx, async (config) => {
    const found: Check[] = [...(await natsChecks(config))];
    for (const source of mysqlSources(config)) found.push(...(await sourceChecks(source)));
    return found;
  });
  for (const c of checks) {
    print(`${!c.ok ? '✘' : c.warning ? '⚠' : '✔'} ${c.what}`);
    if ((!c.ok || c.warning) && c.fix) print(`    fix: ${c.fix.replaceAll('\n', '\n         ')}`);
  }
  const failed = checks.filter((c) => !c.ok).length;
  const warned = checks.filter((c) => c.ok && c.warning).length;
  const warnings = warned > 0 ? ` (${warned} warning(s))` : '';
  print(failed === 0 ? `all checks passed${warnings}` : `${failed} check(s) failed${warnings}`);
  return failed === 0 ? 0 : 1;
}

/**
 * Runs the checks against the servers the configuration names; where it names none (no `nats.url`, a
 * source without `url`) and no `sluice up` of this folder runs them, against the embedded servers
 * `sluice up` would start — started in a throwaway directory for the check, so that a missing binary,
 * a data directory that will not initialise or a wrong binlog setting shows before the first start.
 */
async function withServers(
  ctx: CommandContext,
  check: (config: Config) => Promise<Check[]>,
): Promise<Check[]> {
  const { config } = ctx;
  const needsEmbedded =
    config.nats.url === undefined || mysqlSources(config).some((s) => s.url === undefined);
  if (ctx.local?.running === true) ctx.io.out(`checking the running embedded servers of ${ctx.local.label}`);
  if (!needsEmbedded) return check(config);
  const missing = await binaryChecks(config);
  if (missing.some((c) => !c.ok)) return missing;
  ctx.io.out('checking the embedded servers "sluice up" starts (started here in a throwaway directory)');
  const dir = await mkdtemp(join(tmpdir(), 'sluice-doctor-'));
  const logger = createLogger({ ...config.logging, level: 'warn' });
  try {
    let servers: EmbeddedServers;
    try {
      servers = await startEmbedded({ ...config, embedded: { ...config.embedded, dataDir: dir } }, logger);
    } catch (err) {
      const code = isSluiceError(err) ? err.code : 'SLUICE_EMBEDDED_START_FAILED';
      return [...missing, { ok: false, what: `embedded servers: ${(err as Error).message} [${code}]` }];
    }
    try {
      return [...missing, ...(await check(servers.config))];
    } finally {
      await servers.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function binaryChecks(config: Config): Promise<Check[]> {
  const checks: Check[] = [];
  if (config.nats.url === undefined)
    checks.push(await binaryCheck('nats-server', ['nats-server'], 'nats-server'));
  if (mysqlSources(config).some((s) => s.url === undefined))
    checks.push(await binaryCheck('embedded mariadbd', ['mariadbd', 'mysqld'], 'mariadb-server'));
  return checks;
}

async function natsChecks(config: Config): Promise<Check[]> {
  try {
    const { nc, server } = await connectNats(config.nats, { name: 'sluice-doctor' });
    await nc.close();
    return [
      { ok: true, what: `NATS reachable at ${config.nats.url}` },
      { ok: true, what: `nats-server ${server.version} ≥ ${MIN_NATS_SERVER_VERSION}, JetStream enabled` },
    ];
  } catch (err) {
    const code = isSluiceError(err) ? err.code : 'SLUICE_NATS_CONNECT';
    const fix =
      code === 'SLUICE_NATS_VERSION'
        ? `upgrade nats-server to ${MIN_NATS_SERVER_VERSION} or newer (≥ 2.10.23 recommended)`
        : code === 'SLUICE_NATS_NO_JETSTREAM'
          ? 'start nats-server with -js (or "jetstream {}" in its config)'
          : 'check nats.url / SLUICE_NATS_URL and that nats-server is running';
    return [{ ok: false, what: `NATS at ${config.nats.url}: ${(err as Error).message} [${code}]`, fix }];
  }
}

async function sourceChecks(source: MysqlSourceConfig): Promise<Check[]> {
  const { id, url } = source;
  if (url === undefined) return [];
  const results = await checkMysql(url, { include: source.include });
  return results.map((r) => ({
    ok: r.ok,
    what: `source ${id}: ${r.name}${
      !r.ok
        ? ` is ${r.actual}, expected ${r.expected} [${r.code}]`
        : r.warning
          ? `: ${r.warning} [${r.code}]`
          : ''
    }`,
    ...(r.fix ? { fix: r.fix } : {}),
    ...(r.warning !== undefined ? { warning: true } : {}),
  }));
}

async function binaryCheck(what: string, names: readonly string[], pkg: string): Promise<Check> {
  const path = await findBinary(names);
  return path
    ? { ok: true, what: `${what}: ${path} (started by "sluice up")` }
    : { ok: false, what: `${what}: not installed`, fix: `sudo apt-get install -y ${pkg}` };
}

/** `sluice doctor`. */
export const doctorCommand: CommandSpec = {
  name: 'doctor',
  summary: 'check NATS (version, JetStream) and MySQL (binlog settings, privileges) and print what to fix',
  usage: 'sluice doctor [--config FILE]',
  options: COMMON_OPTIONS,
  configSource: 'local-or-quickstart',
  run: runDoctor,
};
