import { SluiceError, connectNats, provisionAll, type Config } from '@sluice/core';

/**
 * `sluice provision`: creates or updates every stream, KV bucket and object store the configuration
 * needs, then exits — the one-time step for deployments whose role users may not create them
 * (docs/nats-security.md#provisioning). Idempotent.
 */
export async function runProvision(config: Config, out: (line: string) => void): Promise<number> {
  if (config.nats.url === undefined)
    throw new SluiceError('SLUICE_CONFIG_INVALID', 'nats.url (SLUICE_NATS_URL) is required to provision');
  const { nc, jsm } = await connectNats(config.nats, { name: 'sluice-provision' });
  try {
    await provisionAll(nc, jsm, config);
  } finally {
    await nc.close();
  }
  out(`provisioned the streams and buckets of prefix "${config.nats.prefix}"`);
  return 0;
}
