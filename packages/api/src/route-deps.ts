import type { Config, EventMessage, Logger } from '@sluice/core';

/** What JetStream answered for one published event. */
export interface PublishOutcome {
  /** The event id (the `Nats-Msg-Id` it was published with). */
  readonly id: string;
  /** True when the stream already held an event with this id (a retried request). */
  readonly duplicate: boolean;
  /** The stream sequence of the stored event (of the first copy, for a duplicate). */
  readonly seq: number;
}

/** What every route plugin of the API server gets: the configuration, a logger and a publisher. */
export interface RouteDeps {
  readonly config: Config;
  readonly logger: Logger;
  /**
   * Publishes the messages to the events stream and resolves once JetStream acknowledged every one of
   * them, in the order given. Rejects with `SluiceError('SLUICE_PUBLISH_FAILED')` (answered as 503).
   */
  publish(messages: readonly EventMessage[]): Promise<PublishOutcome[]>;
}
