import { HttpDispatcher, type HttpResult } from './http-dispatch.js';
import { KeyCache, webhookHeaders, type SigningKeys } from './signature.js';

/**
 * Where one endpoint's deliveries go and how they are signed. Built once per endpoint, so that a
 * batch for the worker pool can carry each endpoint's settings once, however many deliveries it holds.
 */
export interface DeliveryTarget {
  readonly url: string;
  /**
   * The endpoint's signing keys, read once per request: the deliverer's targets answer with the
   * endpoint's current keys, which change on rotation without a restart. Never logged.
   */
  readonly keys: SigningKeys;
  /** Whole-request budget (connect, headers and body), ms. */
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Budget for the response headers once the request is sent, ms. */
  readonly headersTimeoutMs: number;
  /**
   * Networks this endpoint may reach beyond public unicast addresses: `deliverer.allowNetworks` and the
   * endpoint's own (docs/network-policy.md). @default none
   */
  readonly allowNetworks?: readonly string[];
}

/** One signed POST to make. */
export interface DeliveryRequest {
  readonly target: DeliveryTarget;
  /** The `webhook-id`: the event id, the same on every attempt. */
  readonly eventId: string;
  /** The `webhook-timestamp` of this attempt, Unix seconds. */
  readonly timestampSec: number;
  readonly body: Uint8Array;
}

/**
 * Signs and POSTs deliveries, in-process or through the worker pool. Resolves to what the POST came
 * to; rejects only on a bug (never for an endpoint failure, which is an {@link HttpResult}).
 */
export interface DeliverySender {
  /** Resolves once the sender can send at full speed (worker threads loaded). */
  ready(): Promise<void>;
  send(request: DeliveryRequest): Promise<HttpResult>;
  /** Releases connections and threads; call once nothing is in flight. */
  close(): Promise<void>;
}

/** Settings both senders share. */
export interface SenderOptions {
  readonly connectionsPerOrigin: number;
  /** Bytes of each response body kept for the attempt record. */
  readonly excerptBytes: number;
  /** DNS servers the network guard resolves endpoint hosts with. @default the system resolver */
  readonly dnsServers?: readonly string[];
}

/**
 * Signs one request with the Standard Webhooks headers and POSTs it. The single place that builds
 * the request, used on the main thread and inside the pool's workers alike, so both modes send
 * byte-identical requests.
 */
export function postSigned(
  http: HttpDispatcher,
  request: DeliveryRequest,
  excerptBytes: number,
  keyCache: KeyCache,
): Promise<HttpResult> {
  const { target, eventId, timestampSec, body } = request;
  return http.post({
    url: target.url,
    body,
    headers: {
      'content-type': 'application/cloudevents+json; charset=utf-8',
      'user-agent': 'sluice/0.1',
      ...webhookHeaders(target.keys, eventId, timestampSec, body, keyCache),
    },
    timeoutMs: target.timeoutMs,
    connectTimeoutMs: target.connectTimeoutMs,
    headersTimeoutMs: target.headersTimeoutMs,
    excerptBytes,
    allowNetworks: target.allowNetworks,
  });
}

/** Sends on the main thread: no thread hop, the POST's own CPU only. */
export class InProcessSender implements DeliverySender {
  readonly #http: HttpDispatcher;
  readonly #excerptBytes: number;
  readonly #keyCache = new KeyCache();

  constructor(options: SenderOptions) {
    this.#http = new HttpDispatcher(options.connectionsPerOrigin, { dnsServers: options.dnsServers });
    this.#excerptBytes = options.excerptBytes;
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  send(request: DeliveryRequest): Promise<HttpResult> {
    return postSigned(this.#http, request, this.#excerptBytes, this.#keyCache);
  }

  close(): Promise<void> {
    return this.#http.close();
  }
}
