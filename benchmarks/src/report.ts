import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Machine } from './machine.js';
import type { PhaseResult } from './phase.js';

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

/** Writes report.md (and plots) next to results.json. */
export function writeReport(results: BenchResults, dir: string): void {
  const lines = [`# sluice benchmark (${results.mode})`, '', `\`${results.command}\``, ''];
  for (const p of results.phases)
    lines.push(`- ${p.name}: ${Math.round(p.median.throughput)} ${p.median.unit}/s`);
  writeFileSync(join(dir, 'report.md'), `${lines.join('\n')}\n`);
}
