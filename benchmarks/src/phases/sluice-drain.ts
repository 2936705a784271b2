import { ProcessMeter } from '../meter.js';
import type { SluiceChild } from '../infra.js';
import type { PhaseContext, ProcessFigures } from '../phase.js';
import { sleep } from './sluice-config.js';

/** A backlog a sluice role drains, as seen by the bench process. */
export interface Backlog {
  /** Units the role has finished so far (monotonic; read from a stream or the receiver). */
  consumed(): Promise<number>;
  /** Units put in the backlog so far. */
  readonly stocked: number;
  /** Adds `n` more units; called only before the measured window. */
  add(n: number): Promise<void>;
}

/** What {@link measureDrain} measured. */
export interface DrainFigures {
  readonly count: number;
  readonly seconds: number;
  readonly processes: ProcessFigures[];
  readonly notes: string[];
}

/**
 * Warms a role up on a pre-filled backlog and counts what it finished within the window while
 * metering `processes` (the role's own pid is added as `role`). When the warm-up rate would empty
 * the backlog before the window ends, the role is stopped, the backlog topped up and the role
 * started again (durable consumers and the capture checkpoint resume where they were): a top-up
 * while the role runs would race it and meter the producer's load. Nothing is produced during the
 * window, so every CPU-second metered is the role draining its input and the servers serving it.
 *
 * @param cap most units the backlog may ever hold: loads stay bounded in count.
 */
export async function measureDrain(
  ctx: PhaseContext,
  backlog: Backlog,
  role: { name: string; start: () => SluiceChild },
  processes: readonly { name: string; pid: number }[],
  cap: number,
): Promise<DrainFigures> {
  const notes: string[] = [];
  const half = Math.max(250, ctx.warmupMs / 2);
  let child: SluiceChild | undefined;
  try {
    for (let round = 1; ; round++) {
      child = role.start();
      await child.ready;
      ctx.progress(`${role.name} up; warming up`);
      await sleep(half);
      const a = await backlog.consumed();
      await sleep(half);
      const b = await backlog.consumed();
      const dry = b >= backlog.stocked;
      const rate = ((b - a) * 1000) / half;
      // Enough for the window (and the next warm-up) at 1.2x the warm-up rate; a top-up aims at 2x
      // so that noise in a half-second rate does not cost another round.
      const need = (factor: number): number =>
        Math.ceil((rate * (ctx.durationMs + 2 * half) * factor) / 1000);
      const remaining = backlog.stocked - b;
      if ((!dry && remaining >= need(1.2)) || backlog.stocked >= cap || round === 4) break;
      // Ran dry: the rate is a lower bound, so grow the backlog by more than it says.
      const more = Math.ceil(
        Math.min(cap - backlog.stocked, dry ? Math.max(4 * backlog.stocked, need(2)) : need(2) - remaining),
      );
      ctx.progress(
        `warm-up rate ${Math.round(rate)}/s${dry ? ' (ran dry)' : ''}: adding ${more} to the backlog`,
      );
      await child.stop();
      await backlog.add(more);
    }
    const meter = new ProcessMeter([{ name: role.name, pid: child.pid }, ...processes]);
    const c0 = await backlog.consumed();
    const t0 = performance.now();
    await sleep(ctx.durationMs);
    const c1 = await backlog.consumed();
    const seconds = (performance.now() - t0) / 1000;
    const figures = meter.stop();
    notes.push(
      `backlog ${backlog.stocked}, ${Math.round(c0)} done before the window, ${Math.round(c1)} at its end`,
    );
    if (c1 >= backlog.stocked)
      notes.push('the backlog ran out inside the window: throughput is a lower bound');
    return { count: c1 - c0, seconds, processes: figures, notes };
  } finally {
    await child?.stop();
  }
}
