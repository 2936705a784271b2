import { checkMysql } from '@sluice/capture';
import {
  MIN_NATS_SERVER_VERSION,
  connectNats,
  isSluiceError,
  mysqlSources,
  type Config,
  type MysqlSourceConfig,
} from '@sluice/core';
import { findBinary } from '@sluice/embedded';

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
export async function runDoctor(config: Config, print: (line: string) => void): Promise<number> {
  const checks: Check[] = [];
  checks.push(...(await natsChecks(config)));
  for (const source of mysqlSources(config)) checks.push(...(await sourceChecks(source)));
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

async function natsChecks(config: Config): Promise<Check[]> {
  if (config.nats.url === undefined)
    return [await binaryCheck('nats-server', ['nats-server'], 'nats-server')];
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
  if (url === undefined)
    return [await binaryCheck(`source ${id}: embedded mariadbd`, ['mariadbd', 'mysqld'], 'mariadb-server')];
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
