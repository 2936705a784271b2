import type { Infra } from './infra.js';

/** How long and how hard a phase runs. */
export interface PhaseContext {
  readonly mode: 'quick' | 'full';
  /** The measured window, after warm-up, ms. */
  readonly durationMs: number;
  /** Load before the measured window starts, ms (connections warm, JIT hot). */
  readonly warmupMs: number;
  /** Requests or messages in flight, the same for every loop that has the notion. */
  readonly concurrency: number;
  /** Servers and receivers, started on demand and stopped by the runner. */
  readonly infra: Infra;
  /** One short line for the progress display. */
  progress(line: string): void;
}

/** CPU and memory of one process over a phase's measured window. */
export interface ProcessFigures {
  /** Role in the phase: `bench-client`, `receiver`, `nats-server`, `sluice-deliverer`, … */
  readonly name: string;
  readonly cpuSeconds: number;
  /** Highest resident set size sampled during the window, bytes. */
  readonly peakRssBytes: number;
}

/** Commit→webhook latency at one offered load, ms. */
export interface LatencyFigures {
  /** Offered rows per second. */
  readonly offeredPerSecond: number;
  readonly samples: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  /** A compact histogram for plotting: upper bound (ms) → count. */
  readonly histogram: readonly (readonly [number, number])[];
}

/** What one repetition of one phase measured. */
export interface PhaseResult {
  readonly phase: string;
  /** What `count` counts: `requests`, `messages`, `rows`, `events`, `deliveries`. */
  readonly unit: string;
  readonly count: number;
  readonly seconds: number;
  /** count / seconds. */
  readonly throughput: number;
  /** True when the backlog grew during the window: throughput is then the sustained ceiling, not the offer. */
  readonly lagGrowing?: boolean;
  readonly processes: readonly ProcessFigures[];
  /** Sum of CPU seconds of every process involved, per 1,000 units. */
  readonly cpuSecondsPer1k: number;
  readonly latency?: readonly LatencyFigures[];
  readonly notes?: readonly string[];
}

/** One benchmark phase. */
export interface Phase {
  /** Name used by `--phase`, e.g. `raw-http`. */
  readonly name: string;
  /** One line for the report. */
  readonly title: string;
  /** `reference` loops are the limits sluice is compared with; `sluice` phases measure sluice. */
  readonly kind: 'reference' | 'sluice';
  run(ctx: PhaseContext): Promise<PhaseResult>;
}

/** Throughput and CPU per 1k from a count, a window and process figures. */
export function figures(
  phase: string,
  unit: string,
  count: number,
  seconds: number,
  processes: readonly ProcessFigures[],
  extra: Partial<Pick<PhaseResult, 'lagGrowing' | 'latency' | 'notes'>> = {},
): PhaseResult {
  const cpu = processes.reduce((s, p) => s + p.cpuSeconds, 0);
  return {
    phase,
    unit,
    count,
    seconds,
    throughput: seconds > 0 ? count / seconds : 0,
    processes,
    cpuSecondsPer1k: count > 0 ? (cpu / count) * 1000 : 0,
    ...extra,
  };
}
