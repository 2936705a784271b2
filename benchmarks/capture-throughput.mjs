// Capture throughput: rows/s from the first to the last PubAck for 20k rows written as multi-row
// INSERTs, one message per row, in this process. A number for notes, not a test.
// Run after the build: `node benchmarks/capture-throughput.mjs [rowsPerInsert]`.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { BinlogCapture } from '@sluice/capture';
import { buildConfig, createLogger, openCheckpoints, provisionStreams } from '@sluice/core';
import { insertRows, startServers, until } from './lib.mjs';

const ROWS = 20_000;
const PER_INSERT = Number(process.argv[2] ?? 1000);

const servers = await startServers();
try {
  const config = buildConfig(
    JSON.stringify({
      nats: { url: servers.natsUrl },
      sources: [{ id: 'bench', url: servers.captureUrl, include: ['bench'] }],
    }),
    {},
  );
  const nc = await connect({ servers: servers.natsUrl });
  await provisionStreams(await jetstreamManager(nc), config.nats);
  const capture = new BinlogCapture({
    source: { ...config.sources[0], url: servers.captureUrl },
    nats: config.nats,
    capture: config.capture,
    nc,
    checkpoints: await openCheckpoints(nc, config.nats),
    logger: createLogger({ level: 'warn', pretty: false }),
  });
  await capture.start();
  const cpu0 = process.cpuUsage();
  let first = 0;
  let last = 0;
  const poll = setInterval(() => {
    const n = capture.stats().rowsPublished;
    if (n > 0 && first === 0) first = performance.now();
    if (n >= ROWS && last === 0) last = performance.now();
  }, 1);
  await insertRows(servers.rootUrl, ROWS, PER_INSERT);
  await until('all PubAcks', () => last > 0, 120_000);
  clearInterval(poll);
  const cpu = process.cpuUsage(cpu0);
  const seconds = (last - first) / 1000;
  console.log(
    JSON.stringify({
      rows: ROWS,
      rowsPerInsert: PER_INSERT,
      window: config.capture.publishWindow,
      seconds: Number(seconds.toFixed(3)),
      rowsPerSecond: Math.round(ROWS / seconds),
      processCpuUsPerRow: Math.round((cpu.user + cpu.system) / ROWS),
    }),
  );
  await capture.stop();
  await nc.close();
} finally {
  await servers.stop();
}
