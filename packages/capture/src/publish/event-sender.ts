import {
  encodeEvent,
  type AckWindowPublisher,
  type CloudEvent,
  type EventAddress,
  type Logger,
  type PubAck,
} from '@sluice/core';
import { oversizeReference, payloadLimit, type OversizeStore } from './oversize.js';

/** Options of {@link EventSender}. */
export interface EventSenderOptions {
  readonly publisher: AckWindowPublisher;
  readonly oversize: OversizeStore;
  /** The server's `max_payload`, bytes. */
  readonly maxPayload: number;
  /**
   * Pauses reading the binlog until `until` settles: while an oversized event is being stored, later
   * events wait behind it so that the stream keeps binlog order.
   */
  readonly stall: (until: Promise<void>) => void;
  readonly logger: Logger;
  /** Called once per oversized event whose reference JetStream acknowledged. */
  readonly onOversize?: () => void;
}

interface Queued {
  readonly address: EventAddress;
  readonly event: CloudEvent;
  readonly bytes: Uint8Array | undefined;
  readonly resolve: (ack: Promise<PubAck>) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Publishes events in order through the ack window, and never fails on an event larger than the
 * server accepts: such an event is stored whole in the oversize object store and published as a
 * reference (docs/decisions/0012-oversize-and-retention.md). Events sent while a store is in flight queue
 * behind it — the binlog is paused meanwhile, so the queue holds at most the rest of one rows event.
 */
export class EventSender {
  readonly #o: EventSenderOptions;
  readonly #limit: number;
  #queue: Queued[] | undefined;
  #idle: Promise<void> = Promise.resolve();

  constructor(o: EventSenderOptions) {
    this.#o = o;
    this.#limit = payloadLimit(o.maxPayload);
  }

  /**
   * Publishes `event` at `address` (core's `eventAddress`: subject, Msg-Id, headers); resolves with its
   * PubAck, or its reference's.
   */
  send(address: EventAddress, event: CloudEvent): Promise<PubAck> {
    let bytes: Uint8Array | undefined;
    if (this.#queue === undefined) {
      bytes = encodeEvent(event);
      if (bytes.byteLength <= this.#limit) return this.#publishAt(address, bytes);
    }
    return new Promise<PubAck>((resolve, reject) => {
      const job: Queued = { address, event, bytes, resolve, reject };
      if (this.#queue !== undefined) {
        this.#queue.push(job);
        return;
      }
      this.#queue = [job];
      this.#idle = this.#drain();
      this.#o.stall(this.#idle);
    });
  }

  /** Resolves once no oversized event is being stored and nothing waits behind one. */
  idle(): Promise<void> {
    return this.#idle;
  }

  async #drain(): Promise<void> {
    const queue = this.#queue!;
    try {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
        const bytes = job.bytes ?? encodeEvent(job.event);
        try {
          job.resolve((await this.#publish(job, bytes)).acked);
        } catch (err) {
          // Nothing after a failed event may be published: that would break binlog order. The
          // session fails on the first rejection and restarts from its checkpoint.
          job.reject(err);
          for (const rest of queue.splice(0)) rest.reject(err);
        }
      }
    } finally {
      this.#queue = undefined;
    }
  }

  // Resolves as soon as the message is sent, with its PubAck still to come (wrapped, so that awaiting
  // this does not wait for it): the queue drains in order without waiting for acknowledgements.
  async #publish(job: Queued, bytes: Uint8Array): Promise<{ acked: Promise<PubAck> }> {
    const { oversize, logger } = this.#o;
    if (bytes.byteLength <= this.#limit) return { acked: this.#publishAt(job.address, bytes) };
    const location = await oversize.put(job.event.id, bytes);
    logger.error(
      {
        code: 'SLUICE_PUBLISH_TOO_LARGE',
        eventId: job.event.id,
        type: job.event.type,
        bytes: bytes.byteLength,
        maxPayload: this.#o.maxPayload,
        bucket: location.bucket,
      },
      'event larger than the server accepts: stored in the object store, published as a reference',
    );
    const reference = encodeEvent(oversizeReference(job.event, location));
    const acked = this.#publishAt(job.address, reference);
    void acked.then(
      () => this.#o.onOversize?.(),
      () => undefined,
    );
    return { acked };
  }

  #publishAt(a: EventAddress, body: Uint8Array): Promise<PubAck> {
    return this.#o.publisher.publish(a.subject, body, a.msgId, a.headers);
  }
}
