import { describe, expect, it } from 'vitest';
import { computeRatios, findProcess, RATIO_SPECS, type RatioFigure } from './ratios.js';
import { FULL_RUN } from './results.fixture.js';

function byName(ratios: RatioFigure[], name: string): RatioFigure {
  const r = ratios.find((x) => x.name === name);
  if (!r) throw new Error(`no ratio ${name}`);
  return r;
}

describe('computeRatios', () => {
  const ratios = computeRatios(FULL_RUN.phases);

  it('computes every ratio of a run with every phase', () => {
    expect(ratios.map((r) => r.name)).toEqual(RATIO_SPECS.map((s) => s.name));
    for (const r of ratios) {
      expect(r.value, r.name).toBeTypeOf('number');
      expect(r.reading).not.toMatch(/^n\/a/);
    }
  });

  it('divides the numerator figure by the denominator figure', () => {
    const thr = byName(ratios, 'deliverer / raw-http, throughput');
    expect(thr.numerator).toEqual({ phase: 'deliverer', figure: 'throughput (deliveries/s)', value: 10_000 });
    expect(thr.denominator).toEqual({ phase: 'raw-http', figure: 'throughput (requests/s)', value: 40_000 });
    expect(thr.value).toBe(0.25);
    expect(thr.reading).toBe("sluice's deliverer reaches 0.25 of the raw HTTP limit");
  });

  it('compares the client processes alone for client CPU per delivery', () => {
    // sluice-deliverer 4 CPU-s over 100k deliveries against bench-client 8 CPU-s over 400k requests.
    const cpu = byName(ratios, 'deliverer / raw-http, client CPU per delivery');
    expect(cpu.numerator.figure).toContain('sluice-deliverer');
    expect(cpu.denominator.figure).toContain('bench-client');
    expect(cpu.value).toBeCloseTo(2);
    expect(byName(ratios, 'deliverer / bullmq, CPU per delivery (worker process)').value).toBeCloseTo(0.2);
    expect(byName(ratios, 'deliverer / bullmq, CPU per delivery (all processes)').value).toBeCloseTo(0.25);
  });

  it('derives events/s and deliveries/s of a fan-out from whichever unit the phase counted', () => {
    expect(byName(ratios, 'router-fanout-10 / router-fanout-1, events/s').value).toBe(0.25);
    expect(byName(ratios, 'router-fanout-10 / router-fanout-1, deliveries/s').value).toBe(2.5);
    // e2e-one-dead and e2e-fanout-10 count events per healthy endpoint: ×9 and ×10 deliveries.
    expect(byName(ratios, 'e2e-one-dead / e2e-fanout-10, healthy deliveries/s').value).toBeCloseTo(0.81);
    expect(byName(ratios, 'e2e-one-dead / e2e-fanout-10, events/s per healthy endpoint').value).toBeCloseTo(
      0.9,
    );
    const inDeliveries = FULL_RUN.phases.map((p) =>
      p.name === 'router-fanout-10'
        ? { ...p, median: { ...p.median, unit: 'deliveries', throughput: 50_000 } }
        : p,
    );
    const fanout = computeRatios(inDeliveries);
    expect(byName(fanout, 'router-fanout-10 / router-fanout-1, events/s').value).toBe(0.25);
    expect(byName(fanout, 'router-fanout-10 / router-fanout-1, deliveries/s').value).toBe(2.5);
  });

  it('says n/a and names the missing phase when a phase did not run', () => {
    const only = computeRatios(FULL_RUN.phases.filter((p) => p.name === 'raw-http'));
    const r = byName(only, 'deliverer / raw-http, throughput');
    expect(r.value).toBeNull();
    expect(r.reading).toBe('n/a — phase not run: deliverer');
    expect(r.numerator).toEqual({ phase: 'deliverer', figure: 'not run', value: null });
    expect(byName(only, 'deliverer / bullmq, throughput').reading).toBe(
      'n/a — phase not run: deliverer, bullmq',
    );
    expect(
      computeRatios([]).every((x) => x.value === null && x.reading.startsWith('n/a — phase not run')),
    ).toBe(true);
  });

  it('says n/a when a phase lacks the figure rather than comparing another process', () => {
    const phases = FULL_RUN.phases.map((p) =>
      p.name === 'raw-http'
        ? {
            ...p,
            median: { ...p.median, processes: p.median.processes.filter((x) => x.name !== 'bench-client') },
          }
        : p,
    );
    const r = byName(computeRatios(phases), 'deliverer / raw-http, client CPU per delivery');
    expect(r.value).toBeNull();
    expect(r.reading).toBe('n/a — raw-http: no bench-client process');
  });

  it('says n/a when the denominator measured nothing', () => {
    const phases = FULL_RUN.phases.map((p) =>
      p.name === 'bullmq' ? { ...p, median: { ...p.median, throughput: 0 } } : p,
    );
    const r = byName(computeRatios(phases), 'deliverer / bullmq, throughput');
    expect(r.value).toBeNull();
    expect(r.reading).toBe('n/a — bullmq measured 0');
  });
});

describe('findProcess', () => {
  const procs = [
    { name: 'nats-server', cpuSeconds: 1, peakRssBytes: 1 },
    { name: 'sluice-deliverer-0', cpuSeconds: 2, peakRssBytes: 1 },
  ];

  it('tries candidates in order, exact names and patterns', () => {
    expect(findProcess(procs, ['sluice-deliverer', /deliverer/])?.name).toBe('sluice-deliverer-0');
    expect(findProcess(procs, ['nats-server', /deliverer/])?.name).toBe('nats-server');
    expect(findProcess(procs, ['receiver'])).toBeUndefined();
  });
});
