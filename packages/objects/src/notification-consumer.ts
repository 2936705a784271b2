import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  AckWindowPublisher,
  isSluiceError,
  notificationsConsumer,
  provisionNotifications,
  startPullLoop,
  type CaptureConfig,
  type EventMessage,
  type EventSpace,
  type Logger,
  type NatsConfig,
  type PullLoop,
} from '@sluice/core';
import { parseNotification } from './notification-records.js';
import { objectEventMessages, objectEvents, type ObjectSourceRef } from './object-event.js';

/** Options of {@link NotificationConsumer}. */
export interface NotificationConsumerOptions {
  /** The s3 source, with the subject MinIO's NATS target publishes to. */
  readonly source: ObjectSourceRef & { readonly nats: { readonly subject: string } };
  readonly nats: NatsConfig;
  /** `publishWindow` bounds the events awaiting their PubAck; `publishTimeoutMs` how long one may. */
  readonly capture: CaptureConfig;
  readonly nc: NatsConnection;
  readonly logger: Logger;
}

/** Counters of one {@link NotificationConsumer}. */
export interface NotificationStats {
  /** Notifications turned into events (or into nothing: test events, skipped names) and acked. */
  notifications: number;
  /** `object.created` / `object.removed` events stored. */
  events: number;
  /** Records skipped for their event name (restore, replication, …). */
  skippedRecords: number;
  /** Notifications terminated as malformed (`SLUICE_NOTIFICATION_INVALID`) or too large. */
  invalid: number;
  /** Notifications terminated for a bucket outside the source's list (`SLUICE_NOTIFICATION_BUCKET`). */
  refused: number;
  /** Notifications put back because their events were not acknowledged. */
  naks: number;
}

const NAK_DELAY_MS = 1_000;
// Room for the headers of an event message (Nats-Msg-Id, Sluice-Source): max_payload counts both.
const HEADER_ALLOWANCE_BYTES = 512;

/**
 * Turns the notifications MinIO publishes to an s3 source's `nats.subject` into events: a stream of
 * sluice's keeps them (also while no capture process runs), a durable pull consumer hands them out,
 * and each is acknowledged only once JetStream acknowledged every one of its events, so a crash
 * redelivers it and the deterministic ids collapse what was stored twice. A malformed notification is
 * logged with its code, counted and terminated: redelivering it could never succeed.
 *
 * Several capture processes may consume the same source at once (they share the durable consumer):
 * object stores do not promise order between notifications either, which is what `data.sequencer`
 * is for (docs/object-store.md).
 */
export class NotificationConsumer {
  readonly #o: NotificationConsumerOptions;
  readonly #log: Logger;
  readonly #space: EventSpace;
  readonly #inFlight = new Set<Promise<void>>();
  #publisher: AckWindowPublisher;
  #loop: PullLoop | undefined;
  readonly stats: NotificationStats = {
    notifications: 0,
    events: 0,
    skippedRecords: 0,
    invalid: 0,
    refused: 0,
    naks: 0,
  };

  constructor(options: NotificationConsumerOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'object-notifications', sourceId: options.source.id });
    this.#space = { prefix: options.nats.prefix, partitions: options.nats.partitions };
    this.#publisher = this.#newPublisher();
  }

  /**
   * Provisions the source's notifications stream and consumer and starts consuming.
   * @throws SluiceError `SLUICE_NATS_PROVISION`
   */
  async start(): Promise<void> {
    const { nc, nats, capture, source } = this.#o;
    const stream = await provisionNotifications(await jetstreamManager(nc), nats, {
      sourceId: source.id,
      subject: source.nats.subject,
      maxAckPending: capture.publishWindow,
      // A notification waits for its PubAcks at most publishTimeoutMs; redelivery must not race that.
      ackWaitMs: Math.max(30_000, 3 * capture.publishTimeoutMs),
    });
    const consumer = await jetstream(nc).consumers.get(stream, notificationsConsumer());
    this.#loop = startPullLoop(
      consumer,
      {
        batch: Math.min(256, capture.publishWindow),
        logger: this.#log,
        capacity: async () => {
          await this.#publisher.room();
          return Math.max(1, this.#publisher.window - this.#publisher.pending);
        },
      },
      (m) => this.#handle(m),
    );
    this.#log.info({ stream, subject: source.nats.subject }, 'consuming object-store notifications');
  }

  /** Stops pulling, waits for the notifications in hand to be acknowledged or put back. */
  async stop(): Promise<void> {
    await this.#loop?.stop();
    await Promise.allSettled([...this.#inFlight]);
    await this.#publisher.close();
  }

  async #handle(m: JsMsg): Promise<void> {
    const messages = this.#messagesOf(m);
    if (messages === undefined) return;
    if (messages.length === 0) {
      this.stats.notifications++;
      m.ack();
      return;
    }
    if (this.#publisher.failure) {
      // A failed publisher stays failed (AckWindowPublisher); the notifications it held were nak'ed.
      void this.#publisher.close();
      this.#publisher = this.#newPublisher();
    }
    if (this.#publisher.full) await this.#publisher.room();
    const acks = messages.map((e) => this.#publisher.publish(e.subject, e.data, e.msgId, e.headers));
    const settled = Promise.all(acks).then(
      () => {
        this.stats.notifications++;
        this.stats.events += acks.length;
        m.ack();
      },
      (err: unknown) => {
        this.stats.naks++;
        this.#log.warn(
          { err, seq: m.seq },
          'events of a notification not acknowledged; it will be redelivered',
        );
        m.nak(NAK_DELAY_MS);
      },
    );
    this.#inFlight.add(settled);
    void settled.finally(() => this.#inFlight.delete(settled));
  }

  /** The event messages of one notification; `undefined` when it was terminated as unusable. */
  #messagesOf(m: JsMsg): EventMessage[] | undefined {
    const { source } = this.#o;
    try {
      const out = objectEvents(source, parseNotification(m.data));
      if (out.skipped.length > 0) {
        this.stats.skippedRecords += out.skipped.length;
        this.#log.info(
          { seq: m.seq, eventNames: out.skipped },
          'notification records skipped: not object.created/removed',
        );
      }
      const messages = objectEventMessages(this.#space, source.id, out.events);
      const maxPayload = this.#o.nc.info?.max_payload ?? 1024 * 1024;
      const large = messages.find((e) => e.data.byteLength + HEADER_ALLOWANCE_BYTES > maxPayload);
      if (large !== undefined) {
        this.stats.invalid++;
        this.#log.error(
          {
            code: 'SLUICE_PUBLISH_TOO_LARGE',
            seq: m.seq,
            eventId: large.msgId,
            bytes: large.data.byteLength,
            maxPayload,
          },
          'an event of a notification does not fit max_payload: notification terminated',
        );
        m.term();
        return undefined;
      }
      return messages;
    } catch (err) {
      if (
        !isSluiceError(err, 'SLUICE_NOTIFICATION_INVALID') &&
        !isSluiceError(err, 'SLUICE_NOTIFICATION_BUCKET')
      )
        throw err;
      if (err.code === 'SLUICE_NOTIFICATION_BUCKET') this.stats.refused++;
      else this.stats.invalid++;
      // The payload is not logged (it may carry user metadata); its sequence finds it in the stream.
      this.#log.error({ code: err.code, seq: m.seq, subject: m.subject, err }, 'notification terminated');
      m.term();
      return undefined;
    }
  }

  #newPublisher(): AckWindowPublisher {
    const { capture } = this.#o;
    return new AckWindowPublisher(this.#o.nc, {
      window: capture.publishWindow,
      timeoutMs: capture.publishTimeoutMs,
    });
  }
}
