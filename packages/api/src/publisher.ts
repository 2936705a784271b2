import type { NatsConnection } from '@nats-io/transport-node';
import { AckWindowPublisher, SluiceError, type EventMessage, type Logger, type PubAck } from '@sluice/core';
import type { IdempotencyRecord, IdempotencyStore } from './idempotency-store.js';
import type { PublishOutcome } from './route-deps.js';

/** Options of {@link EventPublisher}. */
export interface EventPublisherOptions {
  readonly nc: NatsConnection;
  /** Ids of stored events, kept for `api.idempotencyTtlMs`. */
  readonly idempotency: IdempotencyStore;
  readonly logger: Logger;
  /** How long a publish may wait for its PubAck, ms (`api.publishTimeoutMs`). */
  readonly timeoutMs: number;
  /**
   * Most publishes awaiting their PubAck at once, over all requests.
   * @default 4096
   */
  readonly window?: number;
}

// Room for the headers of an event message (Nats-Msg-Id, Sluice-Source) and the protocol line: the
// server's max_payload counts headers and data together.
const HEADER_ALLOWANCE_BYTES = 512;

/**
 * Publishes events for the API routes (`RouteDeps.publish`): pipelined, with one bounded window of
 * outstanding PubAcks shared by every request. An event is stored once however often its request is
 * retried: inside the stream's duplicate window JetStream drops the copy (`Nats-Msg-Id`), beyond it
 * the id found in the idempotency bucket answers `duplicate` without publishing. The bucket is
 * written after the PubAck; a crash in between can store a second copy once the window has passed,
 * with the same id (the documented duplicate, I2 in docs/architecture.md).
 */
export class EventPublisher {
  readonly #nc: NatsConnection;
  readonly #ids: IdempotencyStore;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #window: number;
  #acks: AckWindowPublisher;
  /** Events stored, and events answered as duplicates, since start. */
  readonly stats = { stored: 0, duplicates: 0 };

  constructor(options: EventPublisherOptions) {
    this.#nc = options.nc;
    this.#ids = options.idempotency;
    this.#logger = options.logger;
    this.#timeoutMs = options.timeoutMs;
    this.#window = options.window ?? 4096;
    this.#acks = this.#newWindow();
  }

  #newWindow(): AckWindowPublisher {
    return new AckWindowPublisher(this.#nc, { window: this.#window, timeoutMs: this.#timeoutMs });
  }

  /**
   * Stores `messages` and resolves with one outcome each, in order, once every one is acknowledged.
   * @throws SluiceError `SLUICE_PUBLISH_TOO_LARGE` before publishing anything when one message does
   *   not fit the server's max_payload; `SLUICE_PUBLISH_FAILED` when JetStream does not acknowledge.
   */
  async publish(messages: readonly EventMessage[]): Promise<PublishOutcome[]> {
    const maxPayload = this.#nc.info?.max_payload ?? 1024 * 1024;
    for (const m of messages) {
      if (m.data.byteLength + HEADER_ALLOWANCE_BYTES > maxPayload)
        throw new SluiceError(
          'SLUICE_PUBLISH_TOO_LARGE',
          `an event of ${m.data.byteLength} bytes does not fit the NATS server's max_payload of ${maxPayload} bytes`,
          { details: { msgId: m.msgId, bytes: m.data.byteLength, maxPayload } },
        );
    }
    const known = await Promise.all(messages.map((m) => this.#remembered(m.msgId)));
    const acks: (Promise<PubAck> | undefined)[] = [];
    for (const [i, m] of messages.entries()) {
      if (known[i] !== undefined) {
        acks.push(undefined);
        continue;
      }
      if (this.#acks.failure) await this.#replaceWindow();
      if (this.#acks.full) await this.#acks.room();
      acks.push(this.#acks.publish(m.subject, m.data, m.msgId, m.headers));
    }
    const settled = await Promise.allSettled(acks);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      const err = failed.reason as Error;
      throw err instanceof SluiceError
        ? err
        : new SluiceError('SLUICE_PUBLISH_FAILED', `publish failed: ${err.message}`, { cause: err });
    }
    const outcomes = messages.map((m, i): PublishOutcome => {
      const remembered = known[i];
      if (remembered !== undefined) return { id: m.msgId, duplicate: true, seq: remembered.seq };
      const ack = (settled[i] as PromiseFulfilledResult<PubAck>).value;
      return { id: m.msgId, duplicate: ack.duplicate, seq: ack.seq };
    });
    for (const o of outcomes) {
      if (o.duplicate) this.stats.duplicates++;
      else this.stats.stored++;
    }
    // JetStream duplicates too: the request that stored the event may have crashed before recording it.
    await this.#remember(outcomes.filter((_, i) => known[i] === undefined));
    return outcomes;
  }

  async #replaceWindow(): Promise<void> {
    const old = this.#acks;
    this.#acks = this.#newWindow();
    await old.close();
  }

  #remembered(id: string): Promise<IdempotencyRecord | undefined> {
    return this.#ids.lookup(id);
  }

  async #remember(stored: readonly PublishOutcome[]): Promise<void> {
    try {
      await this.#ids.remember(stored);
    } catch (err) {
      // The events are stored: the request succeeded. Only a retry after the dedupe window could now
      // store a second copy (same id), so this is a warning, not a failed request.
      this.#logger.warn(
        { err, events: stored.length },
        'could not record ingested event ids in the idempotency bucket',
      );
    }
  }

  /** Fails what is still waiting for a PubAck and stops listening. */
  async close(): Promise<void> {
    await this.#acks.drain();
    await this.#acks.close();
  }
}
