import {
  SluiceError,
  mysqlSources,
  openCheckpoints,
  openLeases,
  startInOrder,
  type RoleContext,
  type RoleHandle,
} from '@sluice/core';
import { BinlogCapture } from './binlog/binlog-capture.js';

/**
 * Starts the capture role for every MySQL source of the configuration: one {@link BinlogCapture} each,
 * which reads the binlog only while it holds the source's lease — run two processes for a hot standby.
 */
export async function startCapture(ctx: RoleContext): Promise<RoleHandle> {
  const { config, nc, logger } = ctx;
  const checkpoints = await openCheckpoints(nc, config.nats);
  const leases = await openLeases(nc, config.nats);
  const sources = mysqlSources(config);
  const captures = sources.map((source) => {
    if (source.url === undefined)
      throw new SluiceError('SLUICE_CONFIG_INVALID', `source ${source.id} has no url`);
    return new BinlogCapture({
      source: { ...source, url: source.url },
      nats: config.nats,
      capture: config.capture,
      nc,
      checkpoints,
      leases,
      logger,
    });
  });
  await startInOrder(
    captures,
    (c) => c.start(),
    (c) => c.stop(),
  );
  return {
    stop: async () => {
      for (const c of captures) await c.stop();
    },
    stats: () => {
      const all = captures.map((c) => c.stats());
      const standby = all.filter((c) => c.role === 'standby').length;
      return {
        rowsPublished: all.reduce((n, c) => n + c.rowsPublished, 0),
        ...(standby > 0 ? { sourcesOnStandby: standby } : {}),
      };
    },
    readiness: () => {
      const ready: Record<string, string> = {};
      for (const [i, c] of captures.entries()) {
        const s = c.stats();
        if (!s.ready) return undefined;
        ready[sources[i]!.id] = s.position ?? '';
      }
      return ready;
    },
    // With no sources there is nothing to wait for; an already-resolved `done` would end the whole
    // process, router and deliverer included, right after start-up.
    ...(captures.length > 0 ? { done: Promise.all(captures.map((c) => c.done)).then(() => undefined) } : {}),
  };
}
