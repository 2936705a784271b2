import { readFileSync } from 'node:fs';
import { jetstreamManager, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventHeaders,
  buildConfig,
  eventsStream,
  notificationsConsumer,
  notificationsStream,
  provisionStreams,
  s3Sources,
  type Config,
} from '@sluice/core';
import {
  recordingLogger,
  startNats,
  storedMessages,
  type TestNats,
  uniqueName,
  waitFor,
} from '@sluice/test-harness';
import { NotificationConsumer, objectEvents, readNotification } from '../src/index.js';

// The MinIO → NATS path against a real nats-server: the fixtures are published to the source's
// subject with a plain core NATS publish, as MinIO's NATS target does; the consumer stores their
// events once, also for what was published while it was stopped, and terminates what it cannot use.

const FIXTURES = new URL('../../../test/fixtures/s3/', import.meta.url);
const fixtureBytes = (name: string): Buffer => readFileSync(new URL(`${name}.json`, FIXTURES));
const idsOf = (name: string, bytes = fixtureBytes(name)): string[] =>
  objectEvents({ id: 'media' }, readNotification(JSON.parse(bytes.toString('utf8')))).events.map(
    (e) => e.event.id,
  );

let nats: TestNats;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nats = await startNats();
  nc = await nats.connect({ name: 'object-notifications-test' });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nats?.[Symbol.asyncDispose]();
});

/** A configuration of its own per test: a prefix and a subject no other test uses. */
async function setup(buckets?: string[]): Promise<{ config: Config; subject: string }> {
  const prefix = uniqueName('p');
  const subject = `minio.${uniqueName('events')}`;
  const config = buildConfig(
    JSON.stringify({
      nats: { url: nats.url, prefix, partitions: 4 },
      capture: { publishTimeoutMs: 2000 },
      sources: [{ id: 'media', kind: 's3', nats: { subject }, ...(buckets ? { buckets } : {}) }],
    }),
    {},
  );
  await provisionStreams(jsm, config.nats);
  return { config, subject };
}

function consumerFor(config: Config, logger = recordingLogger().logger): NotificationConsumer {
  const source = s3Sources(config)[0]!;
  return new NotificationConsumer({
    source: { ...source, nats: source.nats! },
    nats: config.nats,
    capture: config.capture,
    nc,
    logger,
  });
}

function stored(config: Config): Promise<StoredMsg[]> {
  return storedMessages(jsm, eventsStream(config.nats));
}

const ids = (msgs: StoredMsg[]): string[] => msgs.map((m) => m.header.get('Nats-Msg-Id'));

/** Waits until the notifications consumer has nothing pending or unacknowledged. */
async function settled(config: Config): Promise<void> {
  await waitFor(
    async () => {
      const info = await jsm.consumers.info(
        notificationsStream(config.nats, 'media'),
        notificationsConsumer(),
      );
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    { message: 'notifications consumed and acknowledged' },
  );
}

describe('MinIO → NATS notifications', () => {
  it('stores the events of what MinIO publishes, in order, with the source header', async () => {
    const { config, subject } = await setup();
    const consumer = consumerFor(config);
    await consumer.start();
    try {
      nc.publish(subject, fixtureBytes('minio-put'));
      nc.publish(subject, fixtureBytes('minio-delete'));
      const want = [...idsOf('minio-put'), ...idsOf('minio-delete')];
      await waitFor(async () => ids(await stored(config)).length === 2, { message: 'two events stored' });
      const msgs = await stored(config);
      expect(ids(msgs)).toEqual(want);
      expect(msgs.map((m) => m.header.get(EventHeaders.source))).toEqual(['media', 'media']);
      expect(msgs.map((m) => (JSON.parse(m.string()) as { type: string }).type)).toEqual([
        'object.created',
        'object.removed',
      ]);
      await settled(config);
      expect(consumer.stats).toMatchObject({ notifications: 2, events: 2, invalid: 0, naks: 0 });
    } finally {
      await consumer.stop();
    }
  });

  it('keeps what is published while capture is stopped, and stores a redelivered notification once', async () => {
    const { config, subject } = await setup();
    const first = consumerFor(config);
    await first.start();
    nc.publish(subject, fixtureBytes('minio-put'));
    await waitFor(async () => (await stored(config)).length === 1, { message: 'first event stored' });
    await first.stop();

    // Published with no consumer running: the notifications stream keeps them.
    nc.publish(subject, fixtureBytes('minio-delete'));
    nc.publish(subject, fixtureBytes('minio-put')); // MinIO retrying a notification already stored
    await nc.flush();
    const waiting = await jsm.streams.info(notificationsStream(config.nats, 'media'));
    expect(waiting.state.messages).toBe(3);
    expect((await stored(config)).length).toBe(1);

    const second = consumerFor(config);
    await second.start();
    try {
      await settled(config);
      expect(ids(await stored(config))).toEqual([...idsOf('minio-put'), ...idsOf('minio-delete')]);
      expect(second.stats).toMatchObject({ notifications: 2, events: 2 });
    } finally {
      await second.stop();
    }
  });

  it('terminates a malformed notification and one of a foreign bucket, counts them, and goes on', async () => {
    const { config, subject } = await setup(['uploads']);
    const { logger, records } = recordingLogger();
    const consumer = consumerFor(config, logger);
    await consumer.start();
    try {
      nc.publish(subject, Buffer.from('{"Records": [ not json'));
      nc.publish(subject, fixtureBytes('aws-put')); // bucket media-uploads: not in the list
      nc.publish(
        subject,
        fixtureBytes('aws-restore-completed').toString().replace('media-uploads', 'uploads'),
      );
      nc.publish(subject, fixtureBytes('minio-put'));
      await waitFor(async () => (await stored(config)).length === 1, { message: 'the good event stored' });
      await settled(config);
      expect(ids(await stored(config))).toEqual(idsOf('minio-put'));
      expect(consumer.stats).toMatchObject({
        notifications: 2,
        events: 1,
        skippedRecords: 1,
        invalid: 1,
        refused: 1,
      });
      const codes = records.map((r) => r.code).filter(Boolean);
      expect(codes).toEqual(
        expect.arrayContaining(['SLUICE_NOTIFICATION_INVALID', 'SLUICE_NOTIFICATION_BUCKET']),
      );
      // Terminated, not redelivered: nothing is pending on the consumer and no redelivery happened.
      const info = await jsm.consumers.info(
        notificationsStream(config.nats, 'media'),
        notificationsConsumer(),
      );
      expect(info.num_redelivered).toBe(0);
    } finally {
      await consumer.stop();
    }
  });
});
