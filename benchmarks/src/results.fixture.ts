// A made-up run with every phase, for the unit tests of ratios, report and plots. Figures are round
// so expected ratios can be worked out by hand.
import type { LatencyFigures, PhaseResult, ProcessFigures } from './phase.js';
import type { BenchResults } from './report.js';

const MiB = 2 ** 20;

function proc(name: string, cpuSeconds: number, rssMiB = 100): ProcessFigures {
  return { name, cpuSeconds, peakRssBytes: rssMiB * MiB };
}

function latency(offeredPerSecond: number, p50: number): LatencyFigures {
  return {
    offeredPerSecond,
    samples: offeredPerSecond * 10,
    p50,
    p90: p50 * 2,
    p99: p50 * 5,
    p999: p50 * 10,
    max: p50 * 20,
    histogram: [
      [p50, offeredPerSecond * 5],
      [p50 * 20, offeredPerSecond * 5],
    ],
  };
}

function result(
  phase: string,
  unit: string,
  throughput: number,
  processes: ProcessFigures[],
  extra: Partial<PhaseResult> = {},
): PhaseResult {
  const seconds = 10;
  const count = throughput * seconds;
  const cpu = processes.reduce((s, p) => s + p.cpuSeconds, 0);
  return {
    phase,
    unit,
    count,
    seconds,
    throughput,
    processes,
    cpuSecondsPer1k: (cpu / count) * 1000,
    ...extra,
  };
}

const phases: [name: string, kind: 'reference' | 'sluice', PhaseResult][] = [
  [
    'raw-http',
    'reference',
    result('raw-http', 'requests', 40_000, [proc('bench-client', 8), proc('receiver', 6)]),
  ],
  [
    'raw-jetstream-publish',
    'reference',
    result('raw-jetstream-publish', 'messages', 100_000, [proc('bench-client', 10), proc('nats-server', 10)]),
  ],
  [
    'raw-jetstream-consume',
    'reference',
    result('raw-jetstream-consume', 'messages', 80_000, [proc('bench-client', 8), proc('nats-server', 8)]),
  ],
  [
    'raw-binlog',
    'reference',
    result('raw-binlog', 'rows', 50_000, [proc('bench-client', 5), proc('mariadbd', 5)]),
  ],
  [
    'bullmq',
    'reference',
    result('bullmq', 'deliveries', 5_000, [
      proc('bullmq-worker', 10),
      proc('redis-server', 5),
      proc('receiver', 1),
    ]),
  ],
  [
    'deliverer',
    'sluice',
    result('deliverer', 'deliveries', 10_000, [
      proc('sluice-deliverer', 4),
      proc('nats-server', 2),
      proc('receiver', 2),
    ]),
  ],
  [
    'capture',
    'sluice',
    result('capture', 'events', 20_000, [proc('sluice-capture', 6), proc('nats-server', 4)]),
  ],
  [
    'router-fanout-1',
    'sluice',
    result('router-fanout-1', 'events', 20_000, [proc('sluice-router', 4), proc('nats-server', 4)]),
  ],
  [
    'router-fanout-10',
    'sluice',
    result('router-fanout-10', 'events', 5_000, [proc('sluice-router', 4), proc('nats-server', 6)], {
      lagGrowing: true,
      notes: ['lag grew: throughput is the sustained ceiling'],
    }),
  ],
  [
    'e2e',
    'sluice',
    result('e2e', 'events', 4_000, [proc('sluice-up', 8), proc('mariadbd', 2), proc('nats-server', 2)], {
      latency: [latency(100, 3), latency(1000, 5), latency(2000, 40)],
    }),
  ],
  [
    'e2e-fanout-10',
    'sluice',
    result('e2e-fanout-10', 'events', 1_000, [proc('sluice-up', 8), proc('nats-server', 2)]),
  ],
  [
    'e2e-one-dead',
    'sluice',
    result('e2e-one-dead', 'events', 900, [proc('sluice-up', 8), proc('nats-server', 2)]),
  ],
  [
    'deliverer-pool',
    'sluice',
    result('deliverer-pool', 'deliveries', 12_000, [proc('sluice-deliverer', 6), proc('nats-server', 2)]),
  ],
  [
    'deliverer-inprocess',
    'sluice',
    result('deliverer-inprocess', 'deliveries', 10_000, [
      proc('sluice-deliverer', 4),
      proc('nats-server', 2),
    ]),
  ],
  [
    'deliverer-slow-endpoint',
    'sluice',
    result('deliverer-slow-endpoint', 'deliveries', 9_000, [
      proc('sluice-deliverer', 5),
      proc('nats-server', 2),
    ]),
  ],
];

/** Every phase of a full run, one repetition each. */
export const FULL_RUN: BenchResults = {
  command: 'npm run bench -- --reps 1',
  startedAt: '2026-01-02T03:04:05.000Z',
  mode: 'full',
  settings: { reps: 1, durationMs: 30_000, warmupMs: 5_000, concurrency: 64 },
  machine: {
    cpuModel: 'Test CPU @ 3.0GHz',
    cores: 8,
    memoryGiB: 32,
    kernel: '6.1.0-test',
    node: 'v20.19.0',
    natsServer: 'nats-server: v2.10.0',
    mariadb: 'mariadbd Ver 10.11.6-MariaDB',
    redis: 'Redis server v=7.0.15',
  },
  phases: phases.map(([name, kind, r]) => ({ name, title: `${name} | title`, kind, reps: [r], median: r })),
};
