import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Machine } from './machine.js';
import type { PhaseResult } from './phase.js';
import { computeRatios, cpuPer1k, fmtRatio, type RatioFigure } from './ratios.js';
import { fmtNumber, latencySvg, throughputSvg } from './svg.js';

/** Everything a run produced; written as results.json. */
export interface BenchResults {
  readonly command: string;
  readonly startedAt: string;
  readonly mode: 'quick' | 'full';
  readonly settings: { reps: number; durationMs: number; warmupMs: number; concurrency: number };
  readonly machine: Machine;
  readonly phases: {
    name: string;
    title: string;
    kind: 'reference' | 'sluice';
    reps: PhaseResult[];
    median: PhaseResult;
  }[];
}

/** File names of the plots, next to report.md; the report links them relatively. */
export const PLOTS = { throughput: 'throughput.svg', latency: 'latency.svg' } as const;

/** Writes report.md, throughput.svg and latency.svg next to results.json. */
export function writeReport(results: BenchResults, dir: string): void {
  writeFileSync(join(dir, PLOTS.throughput), throughputSvg(throughputBars(results)));
  writeFileSync(join(dir, PLOTS.latency), latencySvg(latencySeries(results)));
  writeFileSync(join(dir, 'report.md'), renderReport(results));
}

/** The Markdown report of one run. */
export function renderReport(results: BenchResults, ratios = computeRatios(results.phases)): string {
  const { mode, settings: s, machine: m } = results;
  const lines = [
    `# sluice benchmark — ${mode} mode`,
    '',
    `- Command: \`${results.command}\``,
    `- Date: ${results.startedAt}`,
    `- Mode: ${modeLine(results)}`,
    '',
    '> This machine is shared and noisy. Only ratios between phases **of the same run** compare; absolute',
    '> figures from different runs or machines do not.',
    '',
    '## Machine',
    '',
    ...table(
      ['Part', 'Version or size'],
      [
        ['CPU', `${m.cores} cores, ${m.cpuModel}`],
        ['Memory', `${m.memoryGiB} GiB`],
        ['Kernel', m.kernel],
        ['Node', m.node],
        ['nats-server', m.natsServer],
        ['MariaDB', m.mariadb],
        ['Redis', m.redis],
      ],
    ),
    '',
    '## Settings',
    '',
    ...table(
      ['Repetitions', 'Measured window', 'Warm-up', 'Concurrency'],
      [[String(s.reps), seconds(s.durationMs), seconds(s.warmupMs), String(s.concurrency)]],
    ),
    '',
    '## Figures per phase',
    '',
    ...phaseTable(results),
    '',
    '### Per process',
    '',
    ...processTable(results),
    '',
    ...latencySection(results),
    '## Ratios (same run)',
    '',
    ...table(
      ['Ratio', 'Numerator', 'Denominator', 'Value', 'Reading'],
      ratios.map((r) => [r.name, termCell(r.numerator), termCell(r.denominator), ratioCell(r), r.reading]),
    ),
    '',
    '## Plots',
    '',
    `![Throughput per phase](${PLOTS.throughput})`,
    '',
    `![Latency percentiles per offered load](${PLOTS.latency})`,
    '',
    ...notesSection(results),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}

function phaseTable(results: BenchResults): string[] {
  return table(
    ['Phase', 'Kind', 'Throughput', 'CPU-s per 1k', 'Lag growing', 'What it measures'],
    results.phases.map((p) => {
      const r = p.median;
      return [
        p.name,
        p.kind,
        `${fmtNumber(r.throughput)} ${r.unit}/s`,
        `${fmtFigure(r.cpuSecondsPer1k)} per 1k ${r.unit}`,
        r.lagGrowing ? 'yes' : 'no',
        p.title,
      ];
    }),
    ['l', 'l', 'r', 'r', 'l', 'l'],
  );
}

function processTable(results: BenchResults): string[] {
  return table(
    ['Phase', 'Process', 'CPU-s', 'CPU-s per 1k', 'Peak RSS MiB'],
    results.phases.flatMap((p) =>
      p.median.processes.map((proc) => [
        p.name,
        proc.name,
        fmtFigure(proc.cpuSeconds),
        `${fmtFigure(cpuPer1k(proc, p.median.count))} per 1k ${p.median.unit}`,
        fmtNumber(proc.peakRssBytes / 2 ** 20),
      ]),
    ),
    ['l', 'l', 'r', 'r', 'r'],
  );
}

function latencySection(results: BenchResults): string[] {
  const rows = results.phases.flatMap((p) =>
    (p.median.latency ?? []).map((l) => [
      p.name,
      `${fmtNumber(l.offeredPerSecond)}/s`,
      fmtNumber(l.samples),
      ...[l.p50, l.p90, l.p99, l.p999, l.max].map(fmtFigure),
    ]),
  );
  if (rows.length === 0) return [];
  return [
    '## Latency (commit → webhook, ms)',
    '',
    ...table(['Phase', 'Offered load', 'Samples', 'p50', 'p90', 'p99', 'p99.9', 'max'], rows, [
      'l',
      'r',
      'r',
      'r',
      'r',
      'r',
      'r',
      'r',
    ]),
    '',
  ];
}

function notesSection(results: BenchResults): string[] {
  const notes = results.phases.flatMap((p) => (p.median.notes ?? []).map((n) => `- ${p.name}: ${n}`));
  return notes.length ? ['## Notes', '', ...notes, ''] : [];
}

function termCell(t: RatioFigure['numerator']): string {
  return `${t.phase}: ${t.figure}${t.value === null ? '' : ` = ${fmtFigure(t.value)}`}`;
}

function ratioCell(r: RatioFigure): string {
  return r.value === null ? 'n/a' : `**${fmtRatio(r.value)}**`;
}

/** Three significant digits, thousands separators above 1,000; `n/a` for NaN. */
export function fmtFigure(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (Math.abs(n) >= 1000) return fmtNumber(n);
  return String(Number(n.toPrecision(3)));
}

function modeLine({ mode, settings: { reps } }: BenchResults): string {
  const n = `${reps} repetition${reps === 1 ? '' : 's'}`;
  return mode === 'full'
    ? `full: every figure is the median of ${n} (per-repetition figures in results.json)`
    : `quick (${n}, a few seconds per phase): checks that the harness runs; not a measurement`;
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

/** A GitHub-flavoured Markdown table; `|` and newlines in cells are escaped so rows stay rows. */
export function table(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly ('l' | 'r')[] = [],
): string[] {
  const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
  const row = (cells: readonly string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  return [
    row(head),
    `|${head.map((_, i) => (align[i] === 'r' ? ' ---: ' : ' --- ')).join('|')}|`,
    ...rows.map(row),
  ];
}

function throughputBars(results: BenchResults): Parameters<typeof throughputSvg>[0] {
  return results.phases.map((p) => ({
    phase: p.name,
    kind: p.kind,
    throughput: p.median.throughput,
    unit: p.median.unit,
  }));
}

function latencySeries(results: BenchResults): Parameters<typeof latencySvg>[0] {
  return results.phases.flatMap((p) =>
    (p.median.latency ?? []).map((latency) => ({ phase: p.name, latency })),
  );
}
