import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import {
  DeliveryHeaders,
  attemptSubject,
  buildConfig,
  deliveriesStream,
  deliveryEndpointFilter,
  deliveryId,
  deliverySubject,
  dlqStream,
  dlqSubject,
  endpointConsumer,
  ensureDurable,
  openEndpointHealth,
  provisionStreams,
  redriveMsgId,
  type Config,
} from '@sluice/core';
import { decodeHealth, encodeAttempt, encodeHealth, type AttemptRecord } from '@sluice/deliverer';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '@sluice/embedded';
import { main } from '../src/main.js';
import { makeTempDir, removeTempDir, startNats, uniqueName, type TestNats } from '@sluice/test-harness';

const HOUR = 3_600_000;

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** A sluice configuration in a throwaway file, and `main()` run against it with captured output. */
interface Admin {
  readonly config: Config;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  sluice(...args: string[]): Promise<Run>;
  /** `sluice … --json`, parsed; fails the test on a non-zero exit. */
  json<T>(...args: string[]): Promise<T>;
  [Symbol.asyncDispose](): Promise<void>;
}

function secret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

async function admin(nats: TestNats, natsUrl = nats.url): Promise<Admin> {
  const dir = await makeTempDir('admin');
  const raw = {
    nats: { url: natsUrl, prefix: uniqueName('adm'), connectTimeoutMs: 2_000 },
    endpoints: [
      { id: 'hook', url: 'http://127.0.0.1:9/hook', secret: secret(), allowNetworks: ['127.0.0.1/32'] },
      { id: 'down', url: 'http://127.0.0.1:9/down', secret: secret(), allowNetworks: ['127.0.0.1/32'] },
    ],
  };
  const file = join(dir, 'sluice.yaml');
  await writeFile(file, stringify(raw));
  const config = buildConfig(JSON.stringify(raw), {});
  const nc = await nats.connect();
  const jsm = await jetstreamManager(nc);
  const sluice = async (...args: string[]): Promise<Run> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main([...args, '--config', file], {
      env: {},
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  return {
    config,
    nc,
    jsm,
    sluice,
    async json<T>(...args: string[]) {
      const r = await sluice(...args, '--json');
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out) as T;
    },
    [Symbol.asyncDispose]: () => removeTempDir(dir),
  };
}

interface DeadLetterSeed {
  readonly endpoint: string;
  readonly subscription: string;
  readonly eventId: string;
  readonly partition?: number;
  readonly failedAtMs?: number;
  readonly attempt?: number;
  readonly reason?: string;
  readonly status?: number;
  readonly error?: string;
}

/** Publishes dead letters the way the deliverer does (decision 0007); returns their DLQ sequences. */
async function seedDeadLetters(a: Admin, seeds: readonly DeadLetterSeed[]): Promise<number[]> {
  await provisionStreams(a.jsm, a.config.nats);
  const js = jetstream(a.nc);
  const seqs: number[] = [];
  for (const s of seeds) {
    const h = headers();
    h.set(DeliveryHeaders.eventId, s.eventId);
    h.set(DeliveryHeaders.subscription, s.subscription);
    h.set(DeliveryHeaders.endpoint, s.endpoint);
    h.set(DeliveryHeaders.attempt, String(s.attempt ?? 8));
    h.set(DeliveryHeaders.reason, s.reason ?? 'exhausted');
    if (s.status !== undefined) h.set(DeliveryHeaders.status, String(s.status));
    if (s.error !== undefined) h.set(DeliveryHeaders.error, s.error);
    h.set(DeliveryHeaders.failedAt, String(s.failedAtMs ?? Date.now()));
    const ack = await js.publish(
      dlqSubject(a.config.nats, s.endpoint, s.partition ?? 3),
      eventBytes(s.eventId),
      {
        headers: h,
      },
    );
    seqs.push(ack.seq);
  }
  return seqs;
}

function eventBytes(id: string): Uint8Array {
  return Buffer.from(JSON.stringify({ specversion: '1.0', id, type: 'shop.orders.insert', data: { id: 1 } }));
}

async function seedAttempts(a: Admin, records: readonly AttemptRecord[]): Promise<void> {
  await provisionStreams(a.jsm, a.config.nats);
  const js = jetstream(a.nc);
  for (const r of records)
    await js.publish(attemptSubject(a.config.nats, r.endpointId, r.eventId), encodeAttempt(r));
}

function attempt(
  endpointId: string,
  eventId: string,
  n: number,
  extra: Partial<AttemptRecord> = {},
): AttemptRecord {
  return {
    at: Date.now(),
    eventId,
    subscriptionId: 'all',
    endpointId,
    attempt: n,
    outcome: 'retry',
    status: 503,
    latencyMs: 12,
    ...extra,
  };
}

type DeadLetterJson = { seq: number; endpoint: string; subscription: string; eventId: string };

const seqsOf = (list: DeadLetterJson[]): number[] => list.map((d) => d.seq);

describe('sluice dlq ls', () => {
  it('lists dead letters as a table, filtered by endpoint, subscription and time', async () => {
    await using nats = await startNats();
    await using a = await admin(nats);
    const now = Date.now();
    const [s1, s2, s3, s4] = await seedDeadLetters(a, [
      { endpoint: 'hook', subscription: 's1', eventId: 'e1', failedAtMs: now - 72 * HOUR, status: 503 },
      {
        endpoint: 'hook',
        subscription: 's2',
        eventId: 'e2',
        failedAtMs: now - HOUR,
        reason: 'non-retryable-status',
        status: 400,
        attempt: 1,
      },
      { endpoint: 'down', subscription: 's3', eventId: 'e3', failedAtMs: now - 0.2 * HOUR, error: 'timeout' },
      { endpoint: 'gone', subscription: 's4', eventId: 'e4', reason: 'unknown-endpoint', attempt: 0 },
    ]);

    const table = await a.sluice('dlq', 'ls');
    expect(table.code, table.err).toBe(0);
    const lines = table.out.split('\n');
    expect(lines[0]).toMatch(
      /^SEQ +FAILED AT +ENDPOINT +SUBSCRIPTION +EVENT ID +ATTEMPTS +REASON +STATUS\/ERROR$/,
    );
    expect(lines[1]).toMatch(new RegExp(`^${s1} +\\S+Z +hook +s1 +e1 +8 +exhausted +503$`));
    expect(lines[2]).toMatch(new RegExp(`^${s2} +\\S+ +hook +s2 +e2 +1 +non-retryable-status +400$`));
    expect(lines[3]).toMatch(new RegExp(`^${s3} +\\S+ +down +s3 +e3 +8 +exhausted +timeout$`));
    expect(lines[4]).toMatch(new RegExp(`^${s4} +\\S+ +gone +s4 +e4 +0 +unknown-endpoint +-$`));
    expect(lines[5]).toBe('4 dead letter(s)');

    expect(seqsOf(await a.json('dlq', 'ls', '--endpoint', 'hook'))).toEqual([s1, s2]);
    expect(seqsOf(await a.json('dlq', '--subscription', 's3'))).toEqual([s3]);
    expect(seqsOf(await a.json('dlq', 'ls', '--since', '2h'))).toEqual([s2, s3, s4]);
    expect(seqsOf(await a.json('dlq', 'ls', '--until', '2h'))).toEqual([s1]);
    const since = new Date(now - 2 * HOUR).toISOString();
    expect(seqsOf(await a.json('dlq', 'ls', '--endpoint', 'hook', '--since', since))).toEqual([s2]);
    expect(await a.json('dlq', 'ls', '--endpoint', 'nobody')).toEqual([]);

    const first = await a.json<DeadLetterJson[]>('dlq', 'ls', '--limit', '2');
    expect(first).toMatchObject([
      {
        seq: s1,
        endpoint: 'hook',
        subscription: 's1',
        eventId: 'e1',
        attempts: 8,
        reason: 'exhausted',
        status: 503,
      },
      { seq: s2 },
    ]);
    const limited = await a.sluice('dlq', 'ls', '--limit', '2');
    expect(limited.out).toContain('showing the first 2; more dead letters match');
    // Reading leaves no consumer behind.
    expect((await a.jsm.streams.info(dlqStream(a.config.nats))).state.consumer_count).toBe(0);
  });

  it('says so when the DLQ is empty, and refuses a malformed time with exit 2', async () => {
    await using nats = await startNats();
    await using a = await admin(nats);
    const empty = await a.sluice('dlq', 'ls');
    expect(empty).toMatchObject({ code: 0, out: 'no dead letters' });
    const bad = await a.sluice('dlq', 'ls', '--since', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/SLUICE_USAGE.*--since "yesterday"/);
  });
});

describe('sluice dlq show', () => {
  it('prints the headers and the event of one dead letter', async () => {
    await using nats = await startNats();
    await using a = await admin(nats);
    const [seq] = await seedDeadLetters(a, [
      { endpoint: 'hook', subscription: 's1', eventId: 'e1', reason: 'non-retryable-status', status: 410 },
    ]);
    const r = await a.sluice('dlq', 'show', String(seq));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`dead letter ${seq} in ${dlqStream(a.config.nats)}`);
    expect(r.out).toContain('  Sluice-Reason: non-retryable-status');
    expect(r.out).toContain('  Sluice-Status: 410');
    expect(r.out).toContain('  "id": "e1",');

    const json = await a.json<{ headers: Record<string, string>; event: { id: string } }>(
      'dlq',
      'show',
      String(seq),
    );
    expect(json.event.id).toBe('e1');
    expect(json.headers[DeliveryHeaders.eventId]).toBe('e1');
  });

  it('fails with SLUICE_DEAD_LETTER_NOT_FOUND for a sequence the DLQ does not hold', async () => {
    await using nats = await startNats();
    await using a = await admin(nats);
    const r = await a.sluice('dlq', 'show', '99');
    expect(r.code).toBe(1);
    expect(r.err).toContain('SLUICE_DEAD_LETTER_NOT_FOUND');
  });
});

describe('sluice dlq redrive', () => {
  it('moves dead letters to their delivery subject as attempt 1, once', async () => {
    await using nats = await startNats();
    await using a = await admin(nats);
    const ns = a.config.nats;
    const [s1, s2, s3] = await seedDeadLetters(a, [
      { endpoint: 'hook', subscription: 's1', eventId: 'e1', partition: 5 },
      { endpoint: 'down', subscription: 's2', eventId: 'e2' },
      { endpoint: 'hook', subscription: 's3', eventId: 'e3', partition: 0 },
    ]);

    const r = await a.sluice('dlq', 'redrive', '--endpoint', 'hook');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`redrove 2 dead letter(s) to ${deliveriesStream(ns)}`);

    const deliveries = deliveriesStream(ns);
    const first = (await a.jsm.streams.getMessage(deliveries, { seq: 1 }))!;
    expect(first.subject).toBe(deliverySubject(ns, 'hook', 5));
    expect(first.header.get('Nats-Msg-Id')).toBe(redriveMsgId(deliveryId('e1', 's1'), s1!));
    expect(first.header.get(DeliveryHeaders.eventId)).toBe('e1');
    expect(first.header.get(DeliveryHeaders.subscription)).toBe('s1');
    expect(first.header.get(DeliveryHeaders.endpoint)).toBe('hook');
    expect(first.header.has(DeliveryHeaders.attempt)).toBe(false);
    expect(first.header.has(DeliveryHeaders.reason)).toBe(false);
    expect(Buffer.from(first.data)).toEqual(Buffer.from(eventBytes('e1')));
    const second = (await a.jsm.streams.getMessage(deliveries, { seq: 2 }))!;
    expect(second.subject).toBe(deliverySubject(ns, 'hook', 0));
    expect(second.header.get('Nats-Msg-Id')).toBe(redriveMsgId(deliveryId('e3', 's3'), s3!));

    expect(seqsOf(await a.json('dlq', 'ls'))).toEqual([s2]);
    const again = await a.json('dlq', 'redrive', '--endpoint', 'hook');
    expect(again).toEqual({ redriven: 0, duplicates: 0, skipped: 0 });
    expect((await a.jsm.streams.info(deliveries)).state.messages).toBe(2);

    expect(await a.json('dlq', 'redrive', '--seq', String(s2))).toEqual({
      redriven: 1,
      duplicates: 0,
      skipped: 0,
    });
    expect(await a.json('dlq', 'redrive', '--seq', String(s2))).toEqual({
      redriven: 0,
      duplicates: 0,
      skipped: 0,
    });
    expect((await a.jsm.streams.info(dlqStream(ns))).state.messages).toBe(0);
    expect((await a.jsm.streams.info(deliveries)).state.messages).toBe(3);
  });

  it('finishes a redrive that died between the publish and the delete without a second copy', async () => {
    await using nats = await startNats();
    await using a = await admin(nats);
    const ns = a.config.nats;
    const [seq] = await seedDeadLetters(a, [{ endpoint: 'hook', subscription: 's1', eventId: 'e1' }]);
    // What the interrupted redrive already published.
    await jetstream(a.nc).publish(deliverySubject(ns, 'hook', 3), eventBytes('e1'), {
      msgID: redriveMsgId(deliveryId('e1', 's1'), seq!),
    });
    expect(await a.json('dlq', 'redrive', '--all')).toEqual({ redriven: 1, duplicates: 1, skipped: 0 });
    expect((await a.jsm.streams.info(deliveriesStream(ns))).state.messages).toBe(1);
    expect((await a.jsm.streams.info(dlqStream(ns))).state.messages).toBe(0);
  });

  it('refuses to redrive without a filter, --seq or --all (exit 2), before connecting', async () => {
    await using nats = await startNats();
    await using a = await admin(nats, `nats://127.0.0.1:${await freePort()}`);
    const r = await a.sluice('dlq', 'redrive');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SLUICE_USAGE.*--all/);
    const limitOnly = await a.sluice('dlq', 'redrive', '--limit', '5');
    expect(limitOnly.code).toBe(2);
  });
});

describe('sluice attempts', () => {
  it('shows the attempts of one event, or the latest of one endpoint', async () => {
    await using nats = await startNats();
    await using a = await admin(nats);
    const t0 = Date.now() - HOUR;
    const records: AttemptRecord[] = [];
    // Interleaved, so that an endpoint's records are spread over the stream.
    for (let i = 0; i < 150; i++) {
      records.push(
        attempt('down', `d${i}`, 1, { at: t0 + i, outcome: 'retry', error: 'timeout', status: undefined }),
      );
      if (i % 2 === 0)
        records.push(attempt('hook', `h${i}`, 1, { at: t0 + i, outcome: 'delivered', status: 204 }));
    }
    records.push(attempt('hook', 'e1', 1, { at: t0 + 1_000, nextAt: t0 + 2_000 }));
    records.push(attempt('down', 'e1', 1, { at: t0 + 1_001, outcome: 'delivered', status: 200 }));
    records.push(attempt('hook', 'e1', 2, { at: t0 + 2_000, outcome: 'dead-letter', status: 400 }));
    await seedAttempts(a, records);

    const event = await a.json<AttemptRecord[]>('attempts', 'e1');
    expect(event.map((r) => [r.endpointId, r.attempt, r.outcome])).toEqual([
      ['hook', 1, 'retry'],
      ['down', 1, 'delivered'],
      ['hook', 2, 'dead-letter'],
    ]);

    const latest = await a.json<AttemptRecord[]>('attempts', 'hook', '--limit', '4');
    expect(latest.map((r) => r.eventId)).toEqual(['h146', 'h148', 'e1', 'e1']);
    const hook = records.filter((r) => r.endpointId === 'hook');
    expect(await a.json('attempts', 'hook')).toEqual(hook.slice(-50));
    expect(await a.json('attempts', 'down', '--limit', '1000')).toEqual(
      records.filter((r) => r.endpointId === 'down'),
    );

    const table = await a.sluice('attempts', 'e1');
    expect(table.code, table.err).toBe(0);
    const lines = table.out.split('\n');
    expect(lines[0]).toMatch(/^TIME +ENDPOINT +EVENT +ATTEMPT +OUTCOME +STATUS\/ERROR +LATENCY MS +NEXT AT$/);
    expect(lines[1]).toMatch(/^\S+Z +hook +e1 +1 +retry +503 +12 +\S+Z$/);
    expect(lines[3]).toMatch(/^\S+Z +hook +e1 +2 +dead-letter +400 +12 +-$/);
    expect(lines[4]).toBe('3 attempt(s) of event e1');

    const none = await a.sluice('attempts', 'nothing');
    expect(none.out).toMatch(/^no attempts recorded for event nothing/);
  });
});

describe('sluice endpoints', () => {
  it('shows each endpoint’s state, pending deliveries and dead letters', async () => {
    await using nats = await startNats();
    await using a = await admin(nats);
    const ns = a.config.nats;
    await seedDeadLetters(a, [
      { endpoint: 'down', subscription: 's', eventId: 'e1', partition: 1 },
      { endpoint: 'down', subscription: 's', eventId: 'e2', partition: 2 },
    ]);
    await ensureDurable(a.jsm, {
      stream: deliveriesStream(ns),
      durable: endpointConsumer('hook'),
      filterSubject: deliveryEndpointFilter(ns, 'hook'),
      maxAckPending: 64,
      ackWaitMs: 30_000,
    });
    const js = jetstream(a.nc);
    for (const p of [0, 1, 2]) await js.publish(deliverySubject(ns, 'hook', p), eventBytes(`e${p}`));
    const kv = await openEndpointHealth(a.nc, ns);
    const failingSinceMs = Date.now() - 2 * HOUR;
    await kv.put(
      'down',
      encodeHealth({
        disabled: false,
        failingSinceMs,
        openUntilMs: Date.now() + HOUR,
        updatedAtMs: Date.now(),
      }),
    );

    const r = await a.sluice('endpoints');
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^ID +URL +STATE +FAILING SINCE +PENDING +DEAD LETTERS$/);
    expect(lines[1]).toMatch(/^hook +http:\/\/127\.0\.0\.1:9\/hook +enabled +- +3 +0$/);
    expect(lines[2]).toMatch(/^down +http:\/\/127\.0\.0\.1:9\/down +open until \S+Z +\S+Z +0 +2$/);

    await kv.put(
      'down',
      encodeHealth({ disabled: false, throttledUntilMs: Date.now() + HOUR, updatedAtMs: Date.now() }),
    );
    await kv.put('hook', encodeHealth({ disabled: true, disabledReason: 'gone', updatedAtMs: Date.now() }));
    const json = await a.json<{ id: string; state: string; pending: number; deadLetters: number }[]>(
      'endpoints',
      'ls',
    );
    expect(
      json.map((e) => [e.id, e.state.replace(/ until .*/, ' until …'), e.pending, e.deadLetters]),
    ).toEqual([
      ['hook', 'disabled (gone)', 3, 0],
      ['down', 'throttled until …', 0, 2],
    ]);
  });

  it('disables and enables an endpoint through the endpoints KV bucket', async () => {
    await using nats = await startNats();
    await using a = await admin(nats);
    const kv = await openEndpointHealth(a.nc, a.config.nats);
    const failingSinceMs = Date.now() - HOUR;
    await kv.put('hook', encodeHealth({ disabled: false, failingSinceMs, updatedAtMs: failingSinceMs }));

    const off = await a.sluice('endpoints', 'disable', 'hook');
    expect(off.code, off.err).toBe(0);
    expect(off.out).toContain('endpoint hook disabled');
    const disabled = decodeHealth((await kv.get('hook'))!.value);
    expect(disabled).toMatchObject({ disabled: true, disabledReason: 'manual', failingSinceMs });
    expect(disabled.disabledAtMs).toBeGreaterThan(failingSinceMs);
    const listed = await a.json<{ id: string; state: string }[]>('endpoints');
    expect(listed.find((e) => e.id === 'hook')!.state).toBe('disabled (manual)');

    // An endpoint nobody has written about yet can be disabled too.
    expect((await a.sluice('endpoints', 'disable', 'down')).code).toBe(0);
    expect(decodeHealth((await kv.get('down'))!.value).disabled).toBe(true);

    const on = await a.json<{ id: string; health: unknown }>('endpoints', 'enable', 'hook');
    const enabled = decodeHealth((await kv.get('hook'))!.value);
    expect(on).toEqual({ id: 'hook', health: enabled });
    expect(enabled).toEqual({ disabled: false, updatedAtMs: enabled.updatedAtMs });
    const after = await a.json<{ id: string; state: string; failingSinceMs?: number }[]>('endpoints');
    expect(after.find((e) => e.id === 'hook')).toMatchObject({ state: 'enabled' });
    expect(after.find((e) => e.id === 'hook')!.failingSinceMs).toBeUndefined();
  });

  it('fails with SLUICE_UNKNOWN_ENDPOINT for an id the configuration does not define', async () => {
    await using nats = await startNats();
    await using a = await admin(nats);
    for (const verb of ['enable', 'disable']) {
      const r = await a.sluice('endpoints', verb, 'nope');
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/SLUICE_UNKNOWN_ENDPOINT.*"nope".*hook, down/);
    }
  });
});

describe('admin commands: configuration', () => {
  it('need nats.url', async () => {
    const err: string[] = [];
    const code = await main(['endpoints'], { env: {}, out: () => {}, err: (l) => err.push(l) });
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/SLUICE_CONFIG_INVALID.*nats\.url \(SLUICE_NATS_URL\) is required/);
  });
});
