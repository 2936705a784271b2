import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import type { Logger } from '@sluice/core';

/** The stored lease of one source, JSON in the leases bucket under `capture.<source id>`. */
export interface LeaseRecord {
  /** Who holds it: `<host>:<pid>:<random>`. */
  readonly owner: string;
  /** Wall-clock end of the lease, ms since the epoch, as the holder wrote it at its last renewal. */
  readonly expiresAtMs: number;
  readonly acquiredAtMs: number;
}

/** Options of {@link CaptureLease}. */
export interface CaptureLeaseOptions {
  readonly kv: KV;
  readonly sourceId: string;
  /** How long a lease lasts without renewal, ms; renewed every third of it. */
  readonly ttlMs: number;
  /**
   * Extra wait before a standby takes an expired lease, ms: the largest clock difference between the
   * hosts that is tolerated (leases compare the holder's wall clock with the standby's).
   */
  readonly skewMs: number;
  /** The capturer's logger, which already names the source: lines here add no `sourceId` of their own. */
  readonly logger: Logger;
  /** Wall clock, ms since the epoch. @default Date.now */
  readonly now?: () => number;
  /** Monotonic clock, ms. @default performance.now */
  readonly monotonic?: () => number;
}

/** The key of a source's lease. */
export function leaseKey(sourceId: string): string {
  return `capture.${sourceId}`;
}

/**
 * Decides whether a standby may take the lease `held` at `nowMs`: it has expired, by the holder's own
 * clock, at least `skewMs` ago. Pure.
 */
export function mayTake(held: LeaseRecord | undefined, me: string, nowMs: number, skewMs: number): boolean {
  return held === undefined || held.owner === me || nowMs >= held.expiresAtMs + skewMs;
}

/**
 * The lease that makes one capturer per source active (docs/decisions/0008-capture-lease.md):
 * compare-and-set on a KV entry, renewed every third of its TTL. The holder trusts it only until its
 * *monotonic* clock says the TTL has passed since the start of its last successful renewal, so a process
 * paused past its lease (GC, SIGSTOP, a VM freeze) knows on waking that it may no longer publish —
 * before it could learn so from the server — while a standby waits for the holder's wall-clock expiry
 * plus `skewMs`. Both together keep two capturers from publishing for one source at once.
 */
export class CaptureLease {
  readonly #o: CaptureLeaseOptions;
  readonly #now: () => number;
  readonly #mono: () => number;
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  #revision = 0;
  #acquiredAtMs = 0;
  #validUntil = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #onLost: (() => void) | undefined;

  constructor(options: CaptureLeaseOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#mono = options.monotonic ?? (() => performance.now());
  }

  /** True while this process holds the lease by its own monotonic clock: it may publish. */
  get held(): boolean {
    return this.#mono() < this.#validUntil;
  }

  /** Tries once to take or keep the lease; true when this process holds it afterwards. */
  async tryAcquire(): Promise<boolean> {
    const started = this.#mono();
    const nowMs = this.#now();
    const key = leaseKey(this.#o.sourceId);
    const entry = await this.#o.kv.get(key);
    const held = entry?.operation === 'PUT' ? parse(entry.string()) : undefined;
    if (!mayTake(held, this.owner, nowMs, this.#o.skewMs)) return false;
    const record: LeaseRecord = {
      owner: this.owner,
      expiresAtMs: nowMs + this.#o.ttlMs,
      acquiredAtMs: held?.owner === this.owner ? held.acquiredAtMs : nowMs,
    };
    try {
      this.#revision =
        entry === null
          ? await this.#o.kv.create(key, JSON.stringify(record))
          : await this.#o.kv.update(key, JSON.stringify(record), entry.revision);
    } catch {
      return false; // another process wrote first
    }
    this.#validUntil = started + this.#o.ttlMs;
    this.#acquiredAtMs = record.acquiredAtMs;
    if (held?.owner !== this.owner)
      this.#o.logger.info({ owner: this.owner, previous: held?.owner }, 'capture lease taken');
    return true;
  }

  /**
   * Keeps renewing every third of the TTL; calls `onLost` once when a renewal finds another owner, or
   * when renewals kept failing until the lease ran out.
   */
  keepRenewed(onLost: () => void): void {
    this.#onLost = onLost;
    const every = Math.max(10, Math.floor(this.#o.ttlMs / 3));
    const tick = (): void => {
      this.#timer = undefined;
      void this.#renew().then((ok) => {
        if (this.#onLost === undefined) return;
        if (ok || this.held) this.#timer = setTimeout(tick, ok ? every : Math.max(10, every / 4));
        else this.#lost();
      });
    };
    this.#timer = setTimeout(tick, every);
  }

  /** Stops renewing; with `release`, gives the lease up at once so a standby need not wait out the TTL. */
  async stop(release: boolean): Promise<void> {
    clearTimeout(this.#timer);
    this.#onLost = undefined;
    if (!release || !this.held) return;
    this.#validUntil = Number.NEGATIVE_INFINITY;
    const record: LeaseRecord = { owner: '', expiresAtMs: 0, acquiredAtMs: 0 };
    await this.#o.kv
      .update(leaseKey(this.#o.sourceId), JSON.stringify(record), this.#revision)
      .catch(() => undefined);
  }

  async #renew(): Promise<boolean> {
    const started = this.#mono();
    const nowMs = this.#now();
    const record: LeaseRecord = {
      owner: this.owner,
      expiresAtMs: nowMs + this.#o.ttlMs,
      acquiredAtMs: this.#acquiredAtMs,
    };
    try {
      this.#revision = await this.#o.kv.update(
        leaseKey(this.#o.sourceId),
        JSON.stringify(record),
        this.#revision,
      );
      this.#validUntil = started + this.#o.ttlMs;
      return true;
    } catch (err) {
      this.#o.logger.warn({ err }, 'capture lease not renewed');
      // A revision mismatch means someone else holds it now: lost for good.
      if (/wrong last sequence/i.test(String((err as Error).message)))
        this.#validUntil = Number.NEGATIVE_INFINITY;
      return false;
    }
  }

  #lost(): void {
    const fn = this.#onLost;
    this.#onLost = undefined;
    this.#validUntil = Number.NEGATIVE_INFINITY;
    this.#o.logger.warn('capture lease lost; stepping down');
    fn?.();
  }
}

function parse(text: string): LeaseRecord | undefined {
  try {
    const v = JSON.parse(text) as Partial<LeaseRecord>;
    if (typeof v.owner !== 'string' || typeof v.expiresAtMs !== 'number') return undefined;
    return { owner: v.owner, expiresAtMs: v.expiresAtMs, acquiredAtMs: v.acquiredAtMs ?? 0 };
  } catch {
    return undefined;
  }
}
