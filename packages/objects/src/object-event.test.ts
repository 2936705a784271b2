import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  eventsStream,
  isSluiceError,
  objectEventId,
  typeFromEventSubject,
  type EventSpace,
} from '@sluice/core';
import { parseNotification, readNotification } from './notification-records.js';
import { objectEventMessages, objectEventType, objectEvents, type ObjectEventData } from './object-event.js';

const FIXTURES = new URL('../../../test/fixtures/s3/', import.meta.url);
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8'));
const SOURCE = { id: 'media' };
const eventsOf = (name: string, source: { id: string; buckets?: string[] } = SOURCE) =>
  objectEvents(source, readNotification(fixture(name)));

/** The one event a fixture gives, as stored. */
interface Expected {
  id: string;
  type: 'object.created' | 'object.removed';
  bucket: string;
  time: string;
  data: ObjectEventData;
}

// Pinned: ids must not change across versions, or a notification redelivered across an upgrade would
// be stored (and delivered) twice under two ids.
const EXPECTED: Record<string, Expected> = {
  'aws-put': {
    id: 'evt_bc40d6c5852adaf19179b068027081c6',
    type: 'object.created',
    bucket: 'media-uploads',
    time: '2024-06-14T09:21:33.512Z',
    data: {
      bucket: 'media-uploads',
      key: 'photos/2024/Summer Trip/café été+1.jpg',
      size: 2_048_576,
      etag: '9b2cf535f27731c974343645a3985328',
      versionId: null,
      sequencer: '00666C0B7D7A1F2E40',
      eventName: 'ObjectCreated:Put',
      region: 'eu-west-1',
    },
  },
  'aws-multipart': {
    id: 'evt_befdf70ea9d0cdb73b23119e44bc721b',
    type: 'object.created',
    bucket: 'media-uploads',
    time: '2024-06-14T09:40:02.007Z',
    data: {
      bucket: 'media-uploads',
      key: 'videos/keynote-2024.mp4',
      size: 734_003_200,
      etag: 'd8e8fca2dc0f896fd7cb4cb0031ba249-14',
      versionId: null,
      sequencer: '00666C10224B3C9D11',
      eventName: 'ObjectCreated:CompleteMultipartUpload',
      region: 'eu-west-1',
    },
  },
  'aws-delete': {
    id: 'evt_952250ee9ca0b7bb97b8e2b76c64e422',
    type: 'object.removed',
    bucket: 'media-uploads',
    time: '2024-06-14T10:02:45.881Z',
    data: {
      bucket: 'media-uploads',
      key: 'exports/2024-06-14/report (final).csv',
      size: null,
      etag: null,
      versionId: null,
      sequencer: '00666C1545D9E2A7F3',
      eventName: 'ObjectRemoved:Delete',
      region: 'eu-west-1',
    },
  },
  'aws-delete-marker': {
    id: 'evt_bc5ecd23892a8bd5e86631ad0ce3a5d6',
    type: 'object.removed',
    bucket: 'contracts-versioned',
    time: '2024-06-14T11:15:09.300Z',
    data: {
      bucket: 'contracts-versioned',
      key: '文档/季度报告 Q2.pdf',
      size: null,
      etag: null,
      versionId: 'Gq3vT9yXw2LmN8bR5cK1eJ7hP0sD4fA6',
      sequencer: '00666C26BD0F4A1E52',
      eventName: 'ObjectRemoved:DeleteMarkerCreated',
      region: 'us-east-2',
    },
  },
  'minio-put': {
    id: 'evt_9997f9d1de44d01e2e257f4921d127b8',
    type: 'object.created',
    bucket: 'uploads',
    time: '2024-06-14T09:30:01.204Z',
    data: {
      bucket: 'uploads',
      key: 'avatars/ada lovelace+1.png',
      size: 48_213,
      etag: '0f343b0931126a20f133d67c2b018a3b',
      versionId: null,
      sequencer: '17D8F1B2C3EF0A12',
      eventName: 'ObjectCreated:Put',
      contentType: 'image/png',
      userMetadata: { 'X-Amz-Meta-Owner': 'ada', 'content-type': 'image/png' },
    },
  },
  'minio-delete': {
    id: 'evt_d489884d384bea4c2c65ef82aa8bc3da',
    type: 'object.removed',
    bucket: 'uploads',
    time: '2024-06-14T09:45:12.918Z',
    data: {
      bucket: 'uploads',
      key: 'avatars/ada lovelace+1.png',
      size: null,
      etag: null,
      versionId: null,
      sequencer: '17D8F2C9A0C47B55',
      eventName: 'ObjectRemoved:Delete',
    },
  },
};

describe('objectEvents on the recorded fixtures', () => {
  it.each(Object.entries(EXPECTED))('%s → exactly its event', (name, want) => {
    const out = eventsOf(name);
    expect(out.test).toBe(false);
    expect(out.skipped).toEqual([]);
    expect(out.events).toEqual([
      {
        event: {
          specversion: '1.0',
          id: want.id,
          source: `/sluice/s3/media/${want.bucket}`,
          type: want.type,
          subject: want.data.key,
          time: want.time,
          datacontenttype: 'application/json',
          data: want.data,
        },
        key: `${want.bucket}/${want.data.key}`,
      },
    ]);
  });

  it('gives the same ids when the same notification arrives again (S3 delivers at least once)', () => {
    for (const name of Object.keys(EXPECTED))
      expect(eventsOf(name).events.map((e) => e.event.id)).toEqual(
        eventsOf(name).events.map((e) => e.event.id),
      );
  });

  it('gives an event of the same object the same partition key on both stores', () => {
    expect(eventsOf('minio-put').events[0]!.key).toBe(eventsOf('minio-delete').events[0]!.key);
  });

  it('answers the S3 test event without events', () => {
    expect(eventsOf('aws-test-event')).toEqual({ events: [], skipped: [], test: true });
  });

  it('skips other event names with their name, not as an error', () => {
    expect(eventsOf('aws-restore-completed')).toEqual({
      events: [],
      skipped: ['ObjectRestore:Completed'],
      test: false,
    });
  });

  it('reads the bytes NATS delivers like the parsed body', () => {
    const bytes = readFileSync(new URL('minio-put.json', FIXTURES));
    expect(objectEvents(SOURCE, parseNotification(bytes))).toEqual(eventsOf('minio-put'));
  });

  it('builds stream messages: subject by partition of <bucket>/<key>, Msg-Id = id, Sluice-Source', () => {
    const space: EventSpace = { prefix: 'sluice', partitions: 16 };
    const [m] = objectEventMessages(space, 'media', eventsOf('minio-put').events);
    expect(m!.msgId).toBe(EXPECTED['minio-put']!.id);
    expect(m!.headers).toEqual({ 'Sluice-Source': 'media' });
    expect(typeFromEventSubject(space, m!.subject)).toBe('object.created');
    expect(m!.subject.startsWith(`sluice.events.`)).toBe(true);
    expect(eventsStream(space)).toBe('SLUICE_EVENTS');
    const stored = JSON.parse(Buffer.from(m!.data).toString('utf8')) as { id: string; data: unknown };
    expect(stored.id).toBe(EXPECTED['minio-put']!.id);
    expect(stored.data).toEqual(EXPECTED['minio-put']!.data);
  });
});

/** A minimal valid record, changed by `over`. */
function record(over: Record<string, unknown> = {}, object: Record<string, unknown> = {}): unknown {
  return {
    eventName: 'ObjectCreated:Put',
    eventTime: '2024-06-14T09:21:33.512Z',
    s3: { bucket: { name: 'b' }, object: { key: 'k', sequencer: '01', ...object } },
    ...over,
  };
}
const one = (r: unknown, source: { id: string; buckets?: string[] } = SOURCE) =>
  objectEvents(source, readNotification({ Records: [r] }));

describe('objectEvents on edge cases', () => {
  it('maps every ObjectCreated:* and ObjectRemoved:* name, and skips the rest', () => {
    expect(objectEventType('ObjectCreated:Copy')).toBe('object.created');
    expect(objectEventType('ObjectCreated:Post')).toBe('object.created');
    expect(objectEventType('ObjectCreated:PutTagging')).toBe('object.created');
    expect(objectEventType('ObjectRemoved:DeleteAllVersions')).toBe('object.removed');
    expect(objectEventType('ObjectRemoved:NoOP')).toBeUndefined();
    expect(objectEventType('ObjectRestore:Post')).toBeUndefined();
    expect(objectEventType('Replication:OperationFailedReplication')).toBeUndefined();
    expect(objectEventType('LifecycleTransition')).toBeUndefined();
    expect(objectEventType('s3:ObjectCreated:Put')).toBeUndefined(); // names arrive without the prefix
    expect(one(record({ eventName: 's3:ObjectRemoved:Delete' })).events[0]!.event.type).toBe(
      'object.removed',
    );
  });

  it('gives different ids to different versions, sequencers, event names, keys, buckets and sources', () => {
    const ids = [
      one(record()),
      one(record({}, { versionId: 'v2' })),
      one(record({}, { sequencer: '02' })),
      one(record({ eventName: 'ObjectCreated:Copy' })),
      one(record({}, { key: 'k2' })),
      one(record({ s3: { bucket: { name: 'c' }, object: { key: 'k', sequencer: '01' } } })),
      one(record(), { id: 'other' }),
    ].map((o) => o.events[0]!.event.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('tells records without a sequencer apart by their time', () => {
    const a = one(record({}, { sequencer: undefined }));
    const b = one(record({ eventTime: '2024-06-14T09:21:34.000Z' }, { sequencer: undefined }));
    expect(a.events[0]!.event.data.sequencer).toBeNull();
    expect(a.events[0]!.event.id).not.toBe(b.events[0]!.event.id);
    expect(a.events[0]!.event.id).toBe(
      objectEventId({
        sourceId: 'media',
        bucket: 'b',
        key: 'k',
        versionId: '',
        sequencer: 'time:2024-06-14T09:21:33.512Z',
        eventName: 'ObjectCreated:Put',
      }),
    );
  });

  it('accepts a size sent as a string of digits, strips quotes from an ETag', () => {
    const data = one(record({}, { size: '1024', eTag: '"abc"' })).events[0]!.event.data;
    expect(data.size).toBe(1024);
    expect(data.etag).toBe('abc');
  });

  it('keeps a "__proto__" metadata key as data', () => {
    const r = JSON.parse(
      '{"eventName":"ObjectCreated:Put","eventTime":"2024-06-14T09:21:33Z","s3":{"bucket":{"name":"b"},"object":{"key":"k","userMetadata":{"__proto__":{"x":1}}}}}',
    ) as unknown;
    expect(() => one(r)).toThrow(/userMetadata/);
    const ok = JSON.parse(
      '{"eventName":"ObjectCreated:Put","eventTime":"2024-06-14T09:21:33Z","s3":{"bucket":{"name":"b"},"object":{"key":"k","userMetadata":{"__proto__":"x"}}}}',
    ) as unknown;
    const meta = one(ok).events[0]!.event.data.userMetadata!;
    expect(Object.getPrototypeOf(meta)).toBe(Object.prototype);
    expect(Object.keys(meta)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('refuses a bucket outside the allow-list, the whole notification', () => {
    const err = catching(() =>
      objectEvents({ id: 'media', buckets: ['uploads'] }, readNotification(fixture('aws-put'))),
    );
    expect(isSluiceError(err, 'SLUICE_NOTIFICATION_BUCKET')).toBe(true);
    expect(eventsOf('minio-put', { id: 'media', buckets: ['uploads'] }).events).toHaveLength(1);
  });
});

function catching(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('malformed notifications', () => {
  const base = record() as Record<string, unknown>;
  const cases: [string, unknown][] = [
    ['not an object', [base]],
    ['null', null],
    ['no Records', { EventName: 's3:ObjectCreated:Put', Key: 'b/k' }],
    ['Records not an array', { Records: base }],
    ['a record that is not an object', { Records: [7] }],
    ['no eventName', { Records: [record({ eventName: undefined })] }],
    ['eventTime not RFC 3339', { Records: [record({ eventTime: '14/06/2024 09:21' })] }],
    ['eventTime impossible', { Records: [record({ eventTime: '2024-13-45T09:21:33Z' })] }],
    ['no s3', { Records: [record({ s3: undefined })] }],
    ['no bucket name', { Records: [record({ s3: { bucket: {}, object: { key: 'k' } } })] }],
    [
      'a bucket name with a space',
      { Records: [record({ s3: { bucket: { name: 'a b' }, object: { key: 'k' } } })] },
    ],
    ['no key', { Records: [record({}, { key: undefined })] }],
    ['an empty key', { Records: [record({}, { key: '' })] }],
    ['a broken % escape', { Records: [record({}, { key: 'a%2' })] }],
    ['an escape that is not UTF-8', { Records: [record({}, { key: '%C3%28' })] }],
    ['a negative size', { Records: [record({}, { size: -1 })] }],
    ['a size that is text', { Records: [record({}, { size: 'big' })] }],
    ['userMetadata not an object', { Records: [record({}, { userMetadata: 'x' })] }],
    ['a good record then a bad one', { Records: [base, record({ eventName: '' })] }],
  ];

  it.each(cases)('%s → SLUICE_NOTIFICATION_INVALID', (_, body) => {
    const err = catching(() => readNotification(body));
    expect(isSluiceError(err, 'SLUICE_NOTIFICATION_INVALID')).toBe(true);
  });

  it('names the record at fault', () => {
    const err = catching(() => readNotification({ Records: [base, record({ eventName: '' })] }));
    expect((err as Error).message).toMatch(/^Records\[1\]: eventName/);
  });

  it.each([
    ['not JSON', Buffer.from('{"Records":[')],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
    ['empty', Buffer.alloc(0)],
  ])('bytes %s → SLUICE_NOTIFICATION_INVALID', (_, bytes) => {
    expect(
      isSluiceError(
        catching(() => parseNotification(bytes)),
        'SLUICE_NOTIFICATION_INVALID',
      ),
    ).toBe(true);
  });
});
