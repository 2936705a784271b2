import { connectNats, provisionAll } from '@sluice/core';
import { requireNats } from '../admin/context.js';
import { COMMON_OPTIONS, type CommandContext, type CommandSpec } from '../command.js';

/**
 * `sluice provision`: creates or updates every stream, KV bucket and object store the configuration
 * needs, then exits — the one-time step for deployments whose role users may not create them
 * (docs/nats-security.md#provisioning). Idempotent.
 */
export async function runProvision(ctx: CommandContext): Promise<number> {
  const { config } = ctx;
  requireNats(ctx);
  const { nc, jsm } = await connectNats(config.nats, { name: 'sluice-provision' });
  try {
    await provisionAll(nc, jsm, config);
  } finally {
    await nc.close();
  }
  ctx.io.out(`provisioned the streams and buckets of prefix "${config.nats.prefix}"`);
  return 0;
}

/** `sluice provision`. */
export const provisionCommand: CommandSpec = {
  name: 'provision',
  summary: 'create or update every stream, KV bucket and object store the configuration needs, then exit',
  usage: 'sluice provision [--config FILE]',
  options: COMMON_OPTIONS,
  notes:
    'Run it as a NATS user allowed to create streams, once and after changing a stream setting; roles whose\nusers may not create them then run with nats.provision: false (docs/nats-security.md#provisioning).',
  configSource: 'local',
  run: runProvision,
};
