import {
  createInbox,
  headers as natsHeaders,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { SluiceError } from './errors.js';

/** The stream's answer to one publish. */
export interface PubAck {
  readonly stream: string;
  readonly seq: number;
  /** True when the stream already held a message with this `Nats-Msg-Id` (nothing was stored). */
  readonly duplicate: boolean;
}

/** Options of {@link AckWindowPublisher}. */
export interface AckWindowOptions {
  /**
   * Most publishes awaiting their PubAck at once.
   * @default 1024
   */
  readonly window?: number;
  /**
   * How long a publish may wait for its PubAck before it (and every later one) fails.
   * @default 10000
   */
  readonly timeoutMs?: number;
}

interface Pending {
  resolve(ack: PubAck): void;
  reject(err: Error): void;
  sentAt: number;
  subject: string;
}

const decoder = new TextDecoder();

/**
 * Publishes to JetStream with a bounded window of outstanding PubAcks: each message goes out as a core
 * publish with a reply subject under one wildcard inbox, and the acks are matched as they come back.
 * This is ~7× cheaper per message than awaiting `js.publish()`
 * (docs/decisions/0005-publish-window-and-delivery-seams.md) and never holds more than `window`
 * unacknowledged messages. Callers check {@link full} and await {@link room}.
 *
 * On a timeout every outstanding publish fails together: a resend of one message could land after
 * later ones and break per-key order, so the caller restarts from its last checkpoint instead
 * (Nats-Msg-Id dedupe collapses what was stored twice).
 */
export class AckWindowPublisher {
  readonly window: number;
  readonly #timeoutMs: number;
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #sub: Subscription;
  readonly #pending = new Map<string, Pending>();
  readonly #maxPayload: number;
  #next = 0;
  #roomWaiters: (() => void)[] = [];
  #drainWaiters: (() => void)[] = [];
  #timer: NodeJS.Timeout;
  #failed: Error | undefined;

  constructor(nc: NatsConnection, options: AckWindowOptions = {}) {
    this.#nc = nc;
    this.window = options.window ?? 1024;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#prefix = createInbox();
    this.#maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    this.#sub = nc.subscribe(`${this.#prefix}.*`, { callback: (_err, msg) => this.#onAck(msg) });
    this.#timer = setInterval(() => this.#sweep(), Math.max(50, Math.floor(this.#timeoutMs / 4)));
    this.#timer.unref();
  }

  /** Publishes awaiting their PubAck. */
  get pending(): number {
    return this.#pending.size;
  }

  /** True when the window is full; await {@link room} before publishing more. */
  get full(): boolean {
    return this.#pending.size >= this.window;
  }

  /**
   * Sends one message now and returns a promise of its PubAck. Does not wait for room: callers
   * bound themselves with {@link full}/{@link room}.
   * @throws SluiceError `SLUICE_PUBLISH_TOO_LARGE` synchronously when the message exceeds max_payload.
   */
  publish(subject: string, data: Uint8Array, msgId: string, extra?: Record<string, string>): Promise<PubAck> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (data.byteLength > this.#maxPayload) {
      throw new SluiceError(
        'SLUICE_PUBLISH_TOO_LARGE',
        `message of ${data.byteLength} bytes exceeds the server's max_payload of ${this.#maxPayload}`,
        { details: { subject, msgId, bytes: data.byteLength } },
      );
    }
    const h: MsgHdrs = natsHeaders();
    h.set('Nats-Msg-Id', msgId);
    if (extra) for (const k in extra) h.set(k, extra[k]!);
    const token = (this.#next++).toString(36);
    const reply = `${this.#prefix}.${token}`;
    return new Promise<PubAck>((resolve, reject) => {
      this.#pending.set(token, { resolve, reject, sentAt: performance.now(), subject });
      this.#nc.publish(subject, data, { reply, headers: h });
    });
  }

  /** Resolves when fewer than `window` publishes are outstanding. */
  room(): Promise<void> {
    if (!this.full || this.#failed) return Promise.resolve();
    return new Promise((r) => this.#roomWaiters.push(r));
  }

  /** Resolves when every publish so far has been acknowledged or has failed. */
  drain(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((r) => this.#drainWaiters.push(r));
  }

  /** Fails every outstanding publish and stops listening for acks. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#failAll(new SluiceError('SLUICE_PUBLISH_FAILED', 'publisher closed before the PubAck arrived'));
    this.#sub.unsubscribe();
  }

  #onAck(msg: Msg): void {
    const token = msg.subject.slice(this.#prefix.length + 1);
    const p = this.#pending.get(token);
    if (!p) return; // late ack after a timeout: the caller already restarted
    this.#pending.delete(token);
    const err = ackError(msg, p.subject);
    if (err) p.reject(err);
    else {
      const body = JSON.parse(decoder.decode(msg.data)) as {
        stream: string;
        seq: number;
        duplicate?: boolean;
      };
      p.resolve({ stream: body.stream, seq: body.seq, duplicate: body.duplicate === true });
    }
    this.#settled();
  }

  #settled(): void {
    if (this.#pending.size < this.window && this.#roomWaiters.length > 0) {
      const w = this.#roomWaiters;
      this.#roomWaiters = [];
      for (const r of w) r();
    }
    if (this.#pending.size === 0 && this.#drainWaiters.length > 0) {
      const w = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const r of w) r();
    }
  }

  #sweep(): void {
    const first = this.#pending.values().next();
    if (first.done) return;
    // Entries are in send order (Map keeps insertion order), so the oldest is first.
    if (performance.now() - first.value.sentAt < this.#timeoutMs) return;
    this.#failAll(
      new SluiceError(
        'SLUICE_PUBLISH_FAILED',
        `no PubAck within ${this.#timeoutMs} ms (is the NATS server reachable?)`,
        {
          details: { subject: first.value.subject, outstanding: this.#pending.size },
        },
      ),
    );
  }

  #failAll(err: Error): void {
    this.#failed ??= err;
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of all) p.reject(err);
    this.#settled();
    // A failed publisher stays failed; the owner replaces it after restarting from its checkpoint.
    const w = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const r of w) r();
  }

  /** The error that failed this publisher, if any; once set, every publish rejects with it. */
  get failure(): Error | undefined {
    return this.#failed;
  }
}

function ackError(msg: Msg, subject: string): Error | undefined {
  if (msg.headers?.hasError || msg.data.length === 0) {
    const code = msg.headers?.code ?? 0;
    return new SluiceError(
      'SLUICE_PUBLISH_FAILED',
      code === 503
        ? `no stream listens on ${subject}`
        : `publish to ${subject} failed: ${msg.headers?.description ?? 'empty reply'}`,
      { details: { subject, status: code } },
    );
  }
  // Error replies are small JSON objects starting with {"error"; avoid parsing successes twice.
  if (msg.data[2] === 0x65 /* e */) {
    const body = JSON.parse(decoder.decode(msg.data)) as {
      error?: { code: number; err_code?: number; description: string };
    };
    if (body.error) {
      return new SluiceError(
        'SLUICE_PUBLISH_FAILED',
        `publish to ${subject} failed: ${body.error.description}`,
        {
          details: { subject, status: body.error.code, errCode: body.error.err_code },
        },
      );
    }
  }
  return undefined;
}
