import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  buildConfig,
  createLogger,
  type Logger,
  decodeEvent,
  eventsStream,
  mysqlSources,
  openCheckpoints,
  provisionStreams,
  type CloudEvent,
  type Config,
  type RowChange,
} from '@sluice/core';
import { BinlogCapture } from '../src/binlog/binlog-capture.js';
import { afterAll, beforeAll } from 'vitest';
import {
  startMysql,
  startNats,
  uniqueName,
  waitFor,
  type TestMysql,
  type TestNats,
} from '@sluice/test-harness';

/** A configuration for one test: unique prefix (streams, KV bucket) and source id. */
export function testConfig(
  nats: TestNats,
  db: TestMysql,
  overrides: { capture?: Record<string, unknown>; source?: Record<string, unknown> } = {},
): Config {
  const prefix = uniqueName('cap');
  return buildConfig(
    JSON.stringify({
      nats: { url: nats.url, prefix, partitions: 4 },
      capture: {
        checkpointIntervalMs: 50,
        reconnectMinMs: 50,
        reconnectMaxMs: 500,
        publishTimeoutMs: 5_000,
        ...overrides.capture,
      },
      sources: [
        {
          id: 'src1',
          url: db.captureUrl,
          serverId: 1000 + Math.floor(Math.random() * 1_000_000),
          ...overrides.source,
        },
      ],
    }),
    {},
  );
}

/** Streams and the checkpoints bucket of `config`, provisioned on `nc`. */
export async function provision(
  nc: NatsConnection,
  config: Config,
): Promise<{ jsm: JetStreamManager; checkpoints: KV }> {
  const jsm = await jetstreamManager(nc);
  await provisionStreams(jsm, config.nats);
  return { jsm, checkpoints: await openCheckpoints(nc, config.nats) };
}

/** A quiet logger; set SLUICE_TEST_LOG=debug to see capture logs. */
export const testLogger = createLogger({
  level: (process.env.SLUICE_TEST_LOG ?? 'silent') as 'silent',
  pretty: false,
});

/**
 * Starts a capture for the config's first source; dispose stops it gracefully. `logger` defaults to
 * {@link testLogger}; `leases` makes it take the source's lease first, as the capture role does.
 */
export async function startCapture(
  nc: NatsConnection,
  config: Config,
  checkpoints: KV,
  options: { readonly logger?: Logger; readonly leases?: KV } = {},
): Promise<BinlogCapture & AsyncDisposable> {
  const source = mysqlSources(config)[0]!;
  const capture = new BinlogCapture({
    source: { ...source, url: source.url! },
    nats: config.nats,
    capture: config.capture,
    nc,
    checkpoints,
    ...(options.leases ? { leases: options.leases } : {}),
    logger: options.logger ?? testLogger,
  });
  await capture.start();
  return Object.assign(capture, { [Symbol.asyncDispose]: () => capture.stop() });
}

/** One stored event with its stream sequence and subject. */
export interface StoredEvent {
  readonly seq: number;
  readonly subject: string;
  readonly event: CloudEvent<RowChange>;
}

/** Every message currently in the events stream, in stream order, read with an ordered consumer. */
export async function readEvents(nc: NatsConnection, config: Config): Promise<StoredEvent[]> {
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  const stream = eventsStream(config.nats);
  const { state } = await jsm.streams.info(stream);
  if (state.messages === 0) return [];
  const consumer = await jetstream(nc).consumers.get(stream);
  const out: StoredEvent[] = [];
  const messages = await consumer.consume();
  for await (const m of messages) {
    out.push({ seq: m.seq, subject: m.subject, event: decodeEvent(m.data) as CloudEvent<RowChange> });
    if (m.seq >= state.last_seq) break;
  }
  await messages.close();
  return out;
}

/** Waits until the events stream holds at least `count` messages, then returns them all. */
export async function waitForEvents(
  nc: NatsConnection,
  config: Config,
  count: number,
  timeoutMs = 20_000,
): Promise<StoredEvent[]> {
  // checkAPI: false — no request here, so a broker still coming back counts as "not yet" below.
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  const stream = eventsStream(config.nats);
  await waitFor(async () => (await jsm.streams.info(stream)).state.messages >= count, {
    timeoutMs,
    message: `${count} events in ${stream}`,
  });
  return readEvents(nc, config);
}

/** Events of one table, in stream order. */
export function ofTable(
  events: readonly StoredEvent[],
  database: string,
  table: string,
): CloudEvent<RowChange>[] {
  return events
    .filter((e) => e.event.data.database === database && e.event.data.table === table)
    .map((e) => e.event);
}

/** The servers every test of one file shares. */
export interface FileServers {
  readonly nats: TestNats;
  readonly db: TestMysql;
  /** A connection of the test process to `nats`. */
  readonly nc: NatsConnection;
}

/**
 * Starts one nats-server and one mariadbd before the first test of the calling file and stops them after
 * the last; read the fields inside tests (they are set once `beforeAll` ran).
 */
export function serversForFile(): FileServers {
  const s = {} as { nats: TestNats; db: TestMysql; nc: NatsConnection };
  beforeAll(async () => {
    [s.nats, s.db] = await Promise.all([startNats(), startMysql()]);
    s.nc = await s.nats.connect();
  });
  afterAll(async () => {
    await s.db?.[Symbol.asyncDispose]();
    await s.nats?.[Symbol.asyncDispose]();
  });
  return s;
}
