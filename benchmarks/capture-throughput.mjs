// Capture throughput: rows/s from the first to the last PubAck for 20k rows written as batched
// multi-row INSERTs, one message per row. A number for notes, not a test.
// Run after `npx tsc --build packages/capture`: `node benchmarks/capture-throughput.mjs [rowsPerInsert]`.
// Starts its own nats-server and mariadbd on free ports in a temporary directory.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import console from 'node:console';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createConnection } from 'mysql2/promise';
import { buildConfig, createLogger, openCheckpoints, provisionStreams } from '@sluice/core';
import { BinlogCapture } from '@sluice/capture';

const ROWS = 20_000;
const PER_INSERT = Number(process.argv[2] ?? 1000);
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
const children = [];

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function until(what, fn, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function startServers() {
  const [natsPort, dbPort] = [await freePort(), await freePort()];
  children.push(
    spawn('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', join(dir, 'js')], {
      stdio: 'ignore',
    }),
  );
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  execFileSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      ...asRoot,
      `--datadir=${dir}/data`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ],
    { stdio: 'ignore' },
  );
  children.push(
    spawn(
      'mariadbd',
      [
        '--no-defaults',
        ...asRoot,
        `--datadir=${dir}/data`,
        `--socket=${dir}/sock`,
        `--port=${dbPort}`,
        '--bind-address=127.0.0.1',
        `--log-error=${dir}/err.log`,
        '--server-id=1',
        `--log-bin=${dir}/data/bin`,
        '--binlog-format=ROW',
        '--binlog-row-image=FULL',
        '--binlog-row-metadata=FULL',
        '--skip-name-resolve',
      ],
      { stdio: 'ignore' },
    ),
  );
  await until('mariadbd', async () =>
    (await createConnection({ socketPath: `${dir}/sock`, user: 'root' })).end().then(() => true),
  );
  const root = await createConnection({ socketPath: `${dir}/sock`, user: 'root', multipleStatements: true });
  await root.query(
    "ALTER USER root@'127.0.0.1' IDENTIFIED BY 'bench'; CREATE DATABASE bench; CREATE TABLE bench.orders (id BIGINT PRIMARY KEY, customer INT, status VARCHAR(16), total DECIMAL(12,2), created DATETIME(6), note TEXT, flags SET('a','b','c'))",
  );
  await root.end();
  return { natsUrl: `nats://127.0.0.1:${natsPort}`, dbUrl: `mysql://root:bench@127.0.0.1:${dbPort}` };
}

async function main() {
  const { natsUrl, dbUrl } = await startServers();
  const config = buildConfig(
    JSON.stringify({
      nats: { url: natsUrl, partitions: 16 },
      sources: [{ id: 'bench', url: dbUrl, include: ['bench'] }],
    }),
    {},
  );
  const nc = await connect({ servers: natsUrl });
  await until(
    'jetstream',
    async () => (await provisionStreams(await jetstreamManager(nc), config.nats), true),
  );
  const capture = new BinlogCapture({
    source: config.sources[0],
    nats: config.nats,
    capture: config.capture,
    nc,
    checkpoints: await openCheckpoints(nc, config.nats),
    logger: createLogger({ level: 'warn', pretty: false }),
  });
  await capture.start();
  const db = await createConnection(dbUrl);
  const cpu0 = process.cpuUsage();
  let first = 0;
  let last = 0;
  const poll = setInterval(() => {
    const n = capture.stats().rowsPublished;
    if (n > 0 && first === 0) first = performance.now();
    if (n >= ROWS && last === 0) last = performance.now();
  }, 1);
  for (let i = 0; i < ROWS; i += PER_INSERT) {
    const rows = Array.from(
      { length: PER_INSERT },
      (_, k) =>
        `(${i + k + 1}, ${(i + k) % 977}, 'paid', ${((i + k) * 7) % 100000}.25, NOW(6), 'a note of some length for the row', 'a,c')`,
    );
    await db.query(`INSERT INTO bench.orders VALUES ${rows.join(',')}`);
  }
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
  await db.end();
  await nc.close();
}

try {
  await main();
} finally {
  for (const c of children) c.kill('SIGTERM');
  await sleep(500);
  rmSync(dir, { recursive: true, force: true });
}
