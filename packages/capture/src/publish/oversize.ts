import type { NatsConnection } from '@nats-io/transport-node';
import { Objm, StorageType, type ObjectStore } from '@nats-io/obj';
import { SluiceError, oversizeBucket, type CloudEvent, type NatsConfig } from '@sluice/core';

/** Where the full event of an oversized event is stored: `data.sluiceoversize` of the reference. */
export interface OversizeLocation {
  /** Size of the full event's JSON, in bytes. */
  readonly bytes: number;
  /** The object store bucket, `<prefix>_oversize`. */
  readonly bucket: string;
  /** The object's name: the event id. */
  readonly key: string;
}

/** `data` of an event published in place of one too large for the server (docs/events.md). */
export interface OversizeReference {
  readonly op?: unknown;
  readonly database?: unknown;
  readonly table?: unknown;
  readonly primaryKey?: unknown;
  readonly sluiceoversize: OversizeLocation;
}

/**
 * Bytes kept free below the server's `max_payload` for the message headers (`Nats-Msg-Id`,
 * `Sluice-Source`): the server limit counts headers and payload together.
 */
export const HEADER_ALLOWANCE_BYTES = 1024;

/** The largest event payload published as it is, for a server announcing `maxPayload`. */
export function payloadLimit(maxPayload: number): number {
  return Math.max(0, maxPayload - HEADER_ALLOWANCE_BYTES);
}

/**
 * The event published in place of `event`: every attribute kept, `data` replaced by the location of
 * the full event plus the row change's routing fields (`op`, `database`, `table`, `primaryKey`) when
 * it has them.
 */
export function oversizeReference(
  event: CloudEvent,
  location: OversizeLocation,
): CloudEvent<OversizeReference> {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const keep: Record<string, unknown> = {};
  for (const k of ['op', 'database', 'table', 'primaryKey'] as const) if (k in data) keep[k] = data[k];
  return { ...event, data: { ...keep, sluiceoversize: location } };
}

/**
 * The object store bucket of oversized events, opened (created when missing) on first use. Objects
 * expire with the events stream's max age: a reference outlives its object by no more than that.
 * See docs/decisions/0012-oversize-and-retention.md.
 */
export class OversizeStore {
  readonly bucket: string;
  readonly #nc: NatsConnection;
  readonly #nats: NatsConfig;
  #store: Promise<ObjectStore> | undefined;

  constructor(nc: NatsConnection, nats: NatsConfig) {
    this.#nc = nc;
    this.#nats = nats;
    this.bucket = oversizeBucket(nats);
  }

  /**
   * Stores the encoded event under its id (a replay overwrites it with the same bytes) and returns
   * where it is.
   * @throws SluiceError `SLUICE_PUBLISH_FAILED` when the bucket cannot be opened or written (the
   *   capturer restarts from its checkpoint, as for any publish failure).
   */
  async put(eventId: string, bytes: Uint8Array): Promise<OversizeLocation> {
    try {
      const store = await this.#open();
      await store.putBlob({ name: eventId }, bytes);
    } catch (cause) {
      throw new SluiceError(
        'SLUICE_PUBLISH_FAILED',
        `cannot store oversized event ${eventId} in object store ${this.bucket}: ${(cause as Error).message}`,
        { cause, details: { bucket: this.bucket, eventId, bytes: bytes.byteLength } },
      );
    }
    return { bytes: bytes.byteLength, bucket: this.bucket, key: eventId };
  }

  #open(): Promise<ObjectStore> {
    this.#store ??= new Objm(this.#nc)
      .create(this.bucket, {
        storage: StorageType.File,
        replicas: this.#nats.replicas,
        ttl: this.#nats.eventsMaxAgeMs * 1_000_000,
        description: 'sluice: events larger than max_payload, by event id',
      })
      .catch((err: unknown) => {
        this.#store = undefined; // the next attempt tries again
        throw err;
      });
    return this.#store;
  }
}
