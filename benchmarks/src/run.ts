// `npm run bench [-- --quick] [-- --phase NAME …]`: runs the benchmark phases, each on fresh servers,
// and writes results.json, report.md and SVG plots. See benchmarks/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Infra } from './infra.js';
import { describeMachine } from './machine.js';
import { PHASES } from './phases/index.js';
import type { Phase, PhaseResult } from './phase.js';
import { medianResult } from './summary.js';
import { writeReport, type BenchResults } from './report.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    phase: { type: 'string', multiple: true },
    reps: { type: 'string' },
    duration: { type: 'string', description: 'measured seconds per phase' },
    warmup: { type: 'string' },
    concurrency: { type: 'string', default: '64' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    [
      'usage: npm run bench -- [--quick] [--phase NAME]… [--reps N] [--duration S] [--warmup S] [--concurrency N] [--out DIR]',
      '',
      'phases:',
      ...PHASES.map((p) => `  ${p.name.padEnd(22)} ${p.title}`),
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const quick = values.quick;
const selected: Phase[] = values.phase?.length ? values.phase.map(byName) : [...PHASES];
const reps = Number(values.reps ?? (quick ? 1 : 3));
const durationMs = Number(values.duration ?? (quick ? 3 : 30)) * 1000;
const warmupMs = Number(values.warmup ?? (quick ? 1 : 5)) * 1000;
const concurrency = Number(values.concurrency);
const out = resolve(values.out ?? join('benchmarks', 'out', new Date().toISOString().replace(/[:.]/g, '-')));

function byName(name: string): Phase {
  const p = PHASES.find((x) => x.name === name);
  if (!p) throw new Error(`unknown phase "${name}"; phases: ${PHASES.map((x) => x.name).join(', ')}`);
  return p;
}

const started = Date.now();
const progress = (line: string): void => {
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[${t}s] ${line}\n`);
};

const results: BenchResults = {
  command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
  startedAt: new Date(started).toISOString(),
  mode: quick ? 'quick' : 'full',
  settings: { reps, durationMs, warmupMs, concurrency },
  machine: await describeMachine(),
  phases: [],
};

for (const phase of selected) {
  const runs: PhaseResult[] = [];
  for (let rep = 1; rep <= reps; rep++) {
    const infra = new Infra();
    const label = `${phase.name} ${rep}/${reps}`;
    progress(`${label}: starting`);
    try {
      const r = await phase.run({
        mode: quick ? 'quick' : 'full',
        durationMs,
        warmupMs,
        concurrency,
        infra,
        progress: (l) => progress(`${label}: ${l}`),
      });
      runs.push(r);
      progress(
        `${label}: ${Math.round(r.throughput)} ${r.unit}/s, ${r.cpuSecondsPer1k.toFixed(3)} CPU-s per 1k`,
      );
    } finally {
      await infra.stop();
    }
  }
  results.phases.push({
    name: phase.name,
    title: phase.title,
    kind: phase.kind,
    reps: runs,
    median: medianResult(runs),
  });
}

mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
writeReport(results, out);
progress(`done: ${join(out, 'report.md')}`);
