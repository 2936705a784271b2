// End-to-end throughput of `sluice up` (capture + router + deliverer in one process): rows inserted
// as multi-row INSERTs → webhooks received by a local receiver. Reports events/s from the first to
// the last webhook and the CPU the sluice process used per event. A number for notes, not a test.
// Run after the build: `node benchmarks/e2e-throughput.mjs [rows] [rowsPerInsert]`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, insertRows, startCountingReceiver, startServers, until } from './lib.mjs';

const ROWS = Number(process.argv[2] ?? 20_000);
const PER_INSERT = Number(process.argv[3] ?? 500);
const BIN = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));

const servers = await startServers();
const receiver = await startCountingReceiver();
const dir = mkdtempSync(join(tmpdir(), 'sluice-e2e-bench-'));
const config = {
  nats: { url: servers.natsUrl },
  logging: { level: 'warn' },
  sources: [{ id: 'bench', url: servers.captureUrl, include: ['bench'] }],
  endpoints: [{ id: 'sink', url: receiver.url, secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}` }],
  subscriptions: [{ id: 'all', endpoint: 'sink', types: ['mysql.bench.>'] }],
};
writeFileSync(join(dir, 'sluice.json.yaml'), JSON.stringify(config));
const child = spawn(
  process.execPath,
  [
    ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
    BIN,
    'up',
    '--config',
    join(dir, 'sluice.json.yaml'),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
try {
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  await until('sluice up', () => out.includes('sluice is up'));
  const cpu0 = cpuSeconds(child.pid);
  const t0 = performance.now();
  await insertRows(servers.rootUrl, ROWS, PER_INSERT);
  const inserted = performance.now();
  await until('all webhooks', () => receiver.count >= ROWS, 300_000);
  const cpu = cpuSeconds(child.pid) - cpu0;
  const seconds = (receiver.last - t0) / 1000;
  console.log(
    JSON.stringify({
      rows: ROWS,
      rowsPerInsert: PER_INSERT,
      insertSeconds: Number(((inserted - t0) / 1000).toFixed(3)),
      firstInsertToLastWebhookSeconds: Number(seconds.toFixed(3)),
      eventsPerSecond: Math.round(ROWS / seconds),
      sluiceCpuUsPerEvent: Math.round((cpu * 1e6) / ROWS),
    }),
  );
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await receiver.close();
  await servers.stop();
  rmSync(dir, { recursive: true, force: true });
}
