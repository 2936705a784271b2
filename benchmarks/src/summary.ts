import type { LatencyFigures, PhaseResult, ProcessFigures } from './phase.js';

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The median of every figure across repetitions (one repetition is its own median). */
export function medianResult(runs: readonly PhaseResult[]): PhaseResult {
  const first = runs[0];
  if (!first) throw new Error('no runs');
  if (runs.length === 1) return first;
  const processes: ProcessFigures[] = first.processes.map((p, i) => ({
    name: p.name,
    cpuSeconds: median(runs.map((r) => r.processes[i]?.cpuSeconds ?? Number.NaN)),
    peakRssBytes: median(runs.map((r) => r.processes[i]?.peakRssBytes ?? Number.NaN)),
  }));
  const latency: LatencyFigures[] | undefined = first.latency?.map((l, i) => {
    const at = (k: keyof LatencyFigures): number =>
      median(runs.map((r) => Number(r.latency?.[i]?.[k] ?? Number.NaN)));
    return {
      ...l,
      samples: at('samples'),
      p50: at('p50'),
      p90: at('p90'),
      p99: at('p99'),
      p999: at('p999'),
      max: at('max'),
    };
  });
  return {
    ...first,
    count: median(runs.map((r) => r.count)),
    seconds: median(runs.map((r) => r.seconds)),
    throughput: median(runs.map((r) => r.throughput)),
    cpuSecondsPer1k: median(runs.map((r) => r.cpuSecondsPer1k)),
    lagGrowing: runs.some((r) => r.lagGrowing === true) || undefined,
    processes,
    ...(latency ? { latency } : {}),
  };
}
