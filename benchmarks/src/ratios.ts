import type { PhaseResult, ProcessFigures } from './phase.js';

/** One side of a {@link Ratio}: which phase, which figure, and its value in this run. */
export interface RatioTerm {
  readonly phase: string;
  /** What was taken from the phase, with its unit: `throughput (deliveries/s)`. */
  readonly figure: string;
  /** `null` when the phase did not run or lacks the figure. */
  readonly value: number | null;
}

/** A figure of a sluice phase divided by the same figure of the loop it is compared with, same run. */
export interface RatioFigure {
  readonly name: string;
  readonly numerator: RatioTerm;
  readonly denominator: RatioTerm;
  /** numerator / denominator; `null` when either side is missing. */
  readonly value: number | null;
  /** One line saying what the value means, or why there is none (`n/a — phase not run: bullmq`). */
  readonly reading: string;
}

/** The phases of a run as the ratios need them: name and median figures. */
export type PhaseMedians = readonly { readonly name: string; readonly median: PhaseResult }[];

/** A figure taken from a phase: its value, or the reason it is missing. */
type Measure = (r: PhaseResult) => { figure: string; value: number } | { figure: string; missing: string };

interface RatioSpec {
  readonly name: string;
  readonly num: readonly [phase: string, measure: Measure];
  readonly den: readonly [phase: string, measure: Measure];
  readonly reading: (value: number) => string;
}

const throughput: Measure = (r) => ({ figure: `throughput (${r.unit}/s)`, value: r.throughput });

const totalCpu: Measure = (r) => ({
  figure: `CPU-s per 1k ${r.unit}, all processes`,
  value: r.cpuSecondsPer1k,
});

/**
 * The CPU per 1k units of the first process matching one of `candidates`, in order. Phases name their
 * processes (`bench-client`, `sluice-deliverer`, `bullmq-worker`); the patterns are fallbacks so a
 * slightly different name still finds the process rather than silently comparing the wrong one.
 */
function processCpu(candidates: readonly (string | RegExp)[]): Measure {
  return (r) => {
    const p = findProcess(r.processes, candidates);
    if (!p) return { figure: 'CPU-s per 1k, client process', missing: `no ${String(candidates[0])} process` };
    return { figure: `CPU-s per 1k ${r.unit}, ${p.name}`, value: cpuPer1k(p, r.count) };
  };
}

/**
 * Events/s or deliveries/s of a phase that fans out to `fanout` endpoints, whichever unit the phase
 * counted in: a phase counting `deliveries` is divided by the fan-out to get events, and one counting
 * `events` or `rows` is multiplied to get deliveries.
 */
function perSecond(want: 'events' | 'deliveries', fanout: number): Measure {
  return (r) => {
    const figure = `${want}/s`;
    const isDeliveries = r.unit === 'deliveries';
    const isEvents = r.unit === 'events' || r.unit === 'rows';
    if (!isDeliveries && !isEvents)
      return { figure, missing: `unit ${r.unit} is neither events nor deliveries` };
    if ((want === 'deliveries') === isDeliveries) return { figure, value: r.throughput };
    return {
      figure: `${figure} (${r.unit}/s ${want === 'deliveries' ? '×' : '÷'} ${fanout})`,
      value: want === 'deliveries' ? r.throughput * fanout : r.throughput / fanout,
    };
  };
}

/** The first process whose name equals a string candidate or matches a pattern, trying candidates in order. */
export function findProcess(
  processes: readonly ProcessFigures[],
  candidates: readonly (string | RegExp)[],
): ProcessFigures | undefined {
  for (const c of candidates) {
    const p = processes.find((x) => (typeof c === 'string' ? x.name === c : c.test(x.name)));
    if (p) return p;
  }
  return undefined;
}

/** CPU seconds of one process per 1,000 of the phase's units. */
export function cpuPer1k(p: ProcessFigures, count: number): number {
  return count > 0 ? (p.cpuSeconds / count) * 1000 : Number.NaN;
}

const times = (v: number): string => `${fmtRatio(v)}×`;
const DELIVERER = [/^sluice-deliverer/, /deliverer/];
const BULLMQ_WORKER = ['bullmq-worker', /worker/, 'bench-client'];

/** Every ratio the report shows, in order. */
export const RATIO_SPECS: readonly RatioSpec[] = [
  {
    name: 'deliverer / raw-http, throughput',
    num: ['deliverer', throughput],
    den: ['raw-http', throughput],
    reading: (v) => `sluice's deliverer reaches ${fmtRatio(v)} of the raw HTTP limit`,
  },
  {
    name: 'deliverer / raw-http, client CPU per delivery',
    num: ['deliverer', processCpu(DELIVERER)],
    den: ['raw-http', processCpu(['bench-client'])],
    reading: (v) => `the deliverer process spends ${times(v)} the CPU per delivery of a bare undici client`,
  },
  {
    name: 'deliverer / bullmq, throughput',
    num: ['deliverer', throughput],
    den: ['bullmq', throughput],
    reading: (v) => `sluice's deliverer delivers ${times(v)} the throughput of a BullMQ worker`,
  },
  {
    name: 'deliverer / bullmq, CPU per delivery (all processes)',
    num: ['deliverer', totalCpu],
    den: ['bullmq', totalCpu],
    reading: (v) => `all processes together spend ${times(v)} the CPU per delivery of BullMQ + Redis`,
  },
  {
    name: 'deliverer / bullmq, CPU per delivery (worker process)',
    num: ['deliverer', processCpu(DELIVERER)],
    den: ['bullmq', processCpu(BULLMQ_WORKER)],
    reading: (v) => `the deliverer process spends ${times(v)} the CPU per delivery of the BullMQ worker`,
  },
  {
    name: 'capture / raw-jetstream-publish, throughput',
    num: ['capture', throughput],
    den: ['raw-jetstream-publish', throughput],
    reading: (v) => `capture publishes events at ${fmtRatio(v)} of the raw JetStream publish rate`,
  },
  {
    name: 'capture / raw-binlog, throughput',
    num: ['capture', throughput],
    den: ['raw-binlog', throughput],
    reading: (v) => `capture keeps ${fmtRatio(v)} of the rate at which zongji merely reads the binlog`,
  },
  {
    name: 'e2e / raw-jetstream-publish, throughput',
    num: ['e2e', throughput],
    den: ['raw-jetstream-publish', throughput],
    reading: (v) => `INSERT → webhook runs at ${fmtRatio(v)} of the raw JetStream publish rate`,
  },
  {
    name: 'router-fanout-10 / router-fanout-1, events/s',
    num: ['router-fanout-10', perSecond('events', 10)],
    den: ['router-fanout-1', perSecond('events', 1)],
    reading: (v) =>
      `with 10 matching subscriptions the router routes ${fmtRatio(v)} of the events/s it does with 1`,
  },
  {
    name: 'router-fanout-10 / router-fanout-1, deliveries/s',
    num: ['router-fanout-10', perSecond('deliveries', 10)],
    den: ['router-fanout-1', perSecond('deliveries', 1)],
    reading: (v) =>
      `with 10 matching subscriptions the router emits ${times(v)} the deliveries/s it does with 1`,
  },
  {
    name: 'e2e-one-dead / e2e-fanout-10, healthy deliveries/s',
    // One endpoint of ten is dead: nine healthy ones against ten.
    num: ['e2e-one-dead', perSecond('deliveries', 9)],
    den: ['e2e-fanout-10', perSecond('deliveries', 10)],
    reading: (v) =>
      `with 1 of 10 endpoints dead the healthy deliveries/s are ${fmtRatio(v)} of all-healthy (0.90 would be no harm)`,
  },
  {
    name: 'e2e-one-dead / e2e-fanout-10, events/s per healthy endpoint',
    num: ['e2e-one-dead', throughput],
    den: ['e2e-fanout-10', throughput],
    reading: (v) =>
      `each healthy endpoint gets ${fmtRatio(v)} of the events/s it gets when all 10 are healthy (1.00 would be no harm)`,
  },
  {
    name: 'deliverer-slow-endpoint / deliverer, fast deliveries/s',
    num: ['deliverer-slow-endpoint', throughput],
    den: ['deliverer', throughput],
    reading: (v) =>
      `beside a 10 s endpoint with a deep backlog, the fast endpoint gets ${fmtRatio(v)} of the deliveries/s it gets alone (1.00 would be no harm)`,
  },
  {
    name: 'deliverer-pool / deliverer-inprocess, throughput',
    num: ['deliverer-pool', throughput],
    den: ['deliverer-inprocess', throughput],
    reading: (v) => `the Piscina pool delivers ${times(v)} the throughput of the in-process deliverer`,
  },
  {
    name: 'deliverer-pool / deliverer-inprocess, CPU per delivery',
    num: ['deliverer-pool', totalCpu],
    den: ['deliverer-inprocess', totalCpu],
    reading: (v) => `the Piscina pool spends ${times(v)} the CPU per delivery of the in-process deliverer`,
  },
];

function term(phases: PhaseMedians, [phase, measure]: RatioSpec['num']): RatioTerm & { missing?: string } {
  const r = phases.find((p) => p.name === phase)?.median;
  if (!r) return { phase, figure: 'not run', value: null };
  const m = measure(r);
  if ('missing' in m) return { phase, figure: m.figure, value: null, missing: `${phase}: ${m.missing}` };
  if (!Number.isFinite(m.value))
    return { phase, figure: m.figure, value: null, missing: `${phase}: not measured` };
  return { phase, figure: m.figure, value: m.value };
}

/** The ratios of {@link RATIO_SPECS} for the phases of one run; missing phases give an `n/a` reading. */
export function computeRatios(phases: PhaseMedians): RatioFigure[] {
  const ran = new Set(phases.map((p) => p.name));
  return RATIO_SPECS.map((spec) => {
    const { missing: numMissing, ...numerator } = term(phases, spec.num);
    const { missing: denMissing, ...denominator } = term(phases, spec.den);
    const notRun = [spec.num[0], spec.den[0]].filter((p) => !ran.has(p));
    const na = (why: string): RatioFigure => ({
      name: spec.name,
      numerator,
      denominator,
      value: null,
      reading: `n/a — ${why}`,
    });
    if (notRun.length > 0) return na(`phase not run: ${notRun.join(', ')}`);
    if (numerator.value === null || denominator.value === null)
      return na([numMissing, denMissing].filter((m) => m !== undefined).join('; '));
    if (denominator.value === 0) return na(`${denominator.phase} measured 0`);
    const value = numerator.value / denominator.value;
    return { name: spec.name, numerator, denominator, value, reading: spec.reading(value) };
  });
}

/** A ratio for reading: two decimals, or two significant digits below 0.1. */
export function fmtRatio(v: number): string {
  return Math.abs(v) >= 0.1 ? v.toFixed(2) : v.toPrecision(2);
}
