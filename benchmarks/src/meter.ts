import { readFileSync } from 'node:fs';
import type { ProcessFigures } from './phase.js';

const TICKS_PER_SECOND = 100;
const SAMPLE_MS = 100;

function cpuSecondsOf(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)" start at field 3 (state); utime and stime are fields 14 and 15.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function rssBytesOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * Measures a set of processes over a window: CPU seconds from /proc (user + system, so child
 * threads count) and peak RSS sampled every 100 ms. Works for any pid, the harness's own included.
 */
export class ProcessMeter {
  readonly #procs: { name: string; pid: number; cpu0: number; peak: number }[];
  readonly #timer: NodeJS.Timeout;

  constructor(processes: readonly { name: string; pid: number }[]) {
    this.#procs = processes.map((p) => ({ ...p, cpu0: cpuSecondsOf(p.pid), peak: rssBytesOf(p.pid) }));
    this.#timer = setInterval(() => this.#sample(), SAMPLE_MS);
    this.#timer.unref();
  }

  #sample(): void {
    for (const p of this.#procs) {
      try {
        p.peak = Math.max(p.peak, rssBytesOf(p.pid));
      } catch {
        // the process ended; its last sample stands
      }
    }
  }

  /** Ends the window and returns one figure per process. */
  stop(): ProcessFigures[] {
    clearInterval(this.#timer);
    this.#sample();
    return this.#procs.map((p) => {
      let cpu = 0;
      try {
        cpu = cpuSecondsOf(p.pid) - p.cpu0;
      } catch {
        cpu = Number.NaN;
      }
      return { name: p.name, cpuSeconds: cpu, peakRssBytes: p.peak };
    });
  }
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}
