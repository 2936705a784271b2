// The benchmark harness in quick mode, every phase: checks that it runs and emits well-formed
// results, never how fast anything is (numbers come from `npm run bench`, not from tests).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { makeTempDir, removeTempDir } from '@sluice/test-harness';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN_JS = join(ROOT, 'benchmarks', 'dist', 'run.js');
const TIMEOUT_MS = 10 * 60_000;

/** Phase names as `--help` lists them, so the test follows PHASES without importing build output. */
async function phaseNames(): Promise<string[]> {
  const { stdout } = await run(process.execPath, [RUN_JS, '--help'], { cwd: ROOT });
  const lines = stdout.split('\n');
  return lines
    .slice(lines.indexOf('phases:') + 1)
    .map((l) => /^ {2}(\S+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

interface ResultsJson {
  mode: string;
  phases: {
    name: string;
    reps: unknown[];
    median: {
      unit: string;
      count: number;
      throughput: number;
      cpuSecondsPer1k: number;
      processes: { name: string; cpuSeconds: number; peakRssBytes: number }[];
      latency?: { offeredPerSecond: number; p50: number; max: number }[];
    };
  }[];
}

describe('npm run bench -- --quick', () => {
  test(
    'runs every phase and writes results.json, report.md and both plots',
    { timeout: TIMEOUT_MS },
    async () => {
      const phases = await phaseNames();
      expect(phases.length).toBeGreaterThan(0);
      const out = await makeTempDir('bench-quick');
      try {
        // execFile rejects on a non-zero exit, with stderr (the progress display) in the error.
        await run(process.execPath, [RUN_JS, '--quick', '--out', out], {
          cwd: ROOT,
          timeout: TIMEOUT_MS - 30_000,
          maxBuffer: 64 * 2 ** 20,
        });

        const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ResultsJson;
        expect(results.mode).toBe('quick');
        expect(results.phases.map((p) => p.name)).toEqual(phases);
        for (const { name, reps, median } of results.phases) {
          expect(reps, name).toHaveLength(1);
          expect(median.count, name).toBeGreaterThan(0);
          expect(median.throughput, name).toBeGreaterThan(0);
          expect(Number.isFinite(median.throughput), name).toBe(true);
          expect(Number.isFinite(median.cpuSecondsPer1k) && median.cpuSecondsPer1k > 0, name).toBe(true);
          expect(median.processes.length, name).toBeGreaterThan(0);
          for (const p of median.processes) {
            // A process that did little may be charged 0 clock ticks (10 ms) in a few seconds.
            expect(Number.isFinite(p.cpuSeconds) && p.cpuSeconds >= 0, `${name} ${p.name} CPU`).toBe(true);
            expect(p.peakRssBytes, `${name} ${p.name} RSS`).toBeGreaterThan(0);
          }
          for (const l of median.latency ?? []) {
            expect(l.offeredPerSecond, name).toBeGreaterThan(0);
            expect(l.p50 <= l.max && Number.isFinite(l.max), name).toBe(true);
          }
        }

        const report = readFileSync(join(out, 'report.md'), 'utf8');
        expect(report).toContain('## Ratios (same run)');
        expect(report).toContain('| Ratio | Numerator | Denominator | Value | Reading |');
        for (const name of phases) expect(report).toMatch(new RegExp(`^\\| ${name} \\| `, 'm'));
        for (const svg of ['throughput.svg', 'latency.svg']) {
          const text = readFileSync(join(out, svg), 'utf8');
          expect(text, svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
          expect(text.trimEnd(), svg).toMatch(/<\/svg>$/);
          expect(report).toContain(`](${svg})`);
        }
      } finally {
        await removeTempDir(out);
      }
    },
  );
});
