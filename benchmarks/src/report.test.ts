import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RATIO_SPECS } from './ratios.js';
import { renderReport, table, writeReport } from './report.js';
import { FULL_RUN } from './results.fixture.js';

/** The Markdown tables of a document: runs of lines starting with `|`. */
function tables(md: string): string[][] {
  const out: string[][] = [];
  let current: string[] | undefined;
  for (const line of md.split('\n')) {
    if (line.startsWith('|')) (current ??= []).push(line);
    else if (current) {
      out.push(current);
      current = undefined;
    }
  }
  if (current) out.push(current);
  return out;
}

/** Cells of a table row, honouring `\|` escapes. */
function cells(row: string): string[] {
  return row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

describe('renderReport', () => {
  const md = renderReport(FULL_RUN);

  it('describes the run: mode, command, date, machine and settings', () => {
    expect(md).toMatch(/^# sluice benchmark — full mode\n/);
    expect(md).toContain('`npm run bench -- --reps 1`');
    expect(md).toContain('2026-01-02T03:04:05.000Z');
    expect(md).toContain('median of 1 repetition');
    for (const line of [
      '| CPU | 8 cores, Test CPU @ 3.0GHz |',
      '| Memory | 32 GiB |',
      '| Kernel | 6.1.0-test |',
      '| Node | v20.19.0 |',
      '| nats-server | nats-server: v2.10.0 |',
      '| MariaDB | mariadbd Ver 10.11.6-MariaDB |',
      '| Redis | Redis server v=7.0.15 |',
      '| 1 | 30 s | 5 s | 64 |',
    ])
      expect(md).toContain(line);
    expect(md).toContain('Only ratios between phases **of the same run** compare');
  });

  it('has a figures row and a row per process for every phase', () => {
    for (const p of FULL_RUN.phases) {
      expect(md).toMatch(new RegExp(`^\\| ${p.name} \\| ${p.kind} \\| `, 'm'));
      for (const proc of p.median.processes) expect(md).toContain(`| ${p.name} | ${proc.name} |`);
    }
    expect(md).toContain('| raw-http | reference | 40,000 requests/s | 0.035 per 1k requests | no |');
    expect(md).toContain('| router-fanout-10 | sluice | 5,000 events/s | 0.2 per 1k events | yes |');
    expect(md).toContain('| raw-http | bench-client | 8 | 0.02 per 1k requests | 100 |');
  });

  it('has a latency row per offered load', () => {
    expect(md).toContain('## Latency');
    expect(md).toContain('| e2e | 100/s | 1,000 | 3 | 6 | 15 | 30 | 60 |');
    expect(md).toContain('| e2e | 2,000/s | 20,000 | 40 | 80 | 200 | 400 | 800 |');
  });

  it('has a row for every ratio, with its value and reading', () => {
    const lines = md.split('\n');
    for (const spec of RATIO_SPECS)
      expect(
        lines.some((l) => l.startsWith(`| ${spec.name} | `)),
        spec.name,
      ).toBe(true);
    expect(md).toContain("| **0.25** | sluice's deliverer reaches 0.25 of the raw HTTP limit |");
  });

  it('embeds both plots by relative link and lists phase notes', () => {
    expect(md).toContain('![Throughput per phase](throughput.svg)');
    expect(md).toContain('![Latency percentiles per offered load](latency.svg)');
    expect(md).toContain('- router-fanout-10: lag grew: throughput is the sustained ceiling');
  });

  it('writes only well-formed tables: a delimiter row and the same number of cells in every row', () => {
    const found = tables(md);
    expect(found.length).toBeGreaterThanOrEqual(6);
    for (const t of found) {
      const width = cells(t[0]!).length;
      expect(cells(t[1]!).every((c) => /^:?---+:?$/.test(c))).toBe(true);
      for (const row of t) expect(cells(row), row).toHaveLength(width);
    }
  });

  it('leaves the latency section out and says n/a for ratios when phases did not run', () => {
    const partial = renderReport({
      ...FULL_RUN,
      mode: 'quick',
      phases: FULL_RUN.phases.filter((p) => p.name === 'raw-http'),
    });
    expect(partial).toMatch(/^# sluice benchmark — quick mode\n/);
    expect(partial).not.toContain('## Latency');
    expect(partial).toContain('| n/a | n/a — phase not run: deliverer |');
  });
});

describe('table', () => {
  it('escapes pipes and newlines in cells and aligns numeric columns right', () => {
    expect(table(['a', 'b'], [['x|y', 'line\nbreak']], ['l', 'r'])).toEqual([
      '| a | b |',
      '| --- | ---: |',
      '| x\\|y | line break |',
    ]);
  });
});

describe('writeReport', () => {
  it('writes report.md and both SVG plots into the directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-report-'));
    try {
      writeReport(FULL_RUN, dir);
      expect(readFileSync(join(dir, 'report.md'), 'utf8')).toBe(renderReport(FULL_RUN));
      for (const f of ['throughput.svg', 'latency.svg'])
        expect(readFileSync(join(dir, f), 'utf8')).toMatch(
          /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/,
        );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
