import { describe, expect, it } from 'vitest';
import { SluiceError } from '@sluice/core';
import { classifyFailure, reconnectDelayMs } from './failure-policy.js';

const mysqlError = (errno: number, code: string, message: string) =>
  Object.assign(new Error(message), { errno, code });

describe('classifyFailure', () => {
  it('reconnects on lost connections, matched on code or errno', () => {
    expect(classifyFailure(Object.assign(new Error('lost'), { code: 'PROTOCOL_CONNECTION_LOST' })).kind).toBe(
      'reconnect',
    );
    expect(classifyFailure(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })).kind).toBe(
      'reconnect',
    );
    expect(classifyFailure(mysqlError(4052, 'ER_INVALID_MFA_PLUGIN_SPECIFIED', 'same server id')).kind).toBe(
      'reconnect',
    );
    expect(classifyFailure(new SluiceError('SLUICE_PUBLISH_FAILED', 'no PubAck')).kind).toBe('reconnect');
    expect(classifyFailure(new SluiceError('SLUICE_CHECKPOINT_STALE', 'kv down')).kind).toBe('reconnect');
    expect(classifyFailure(new SluiceError('SLUICE_RECONCILE_FAILED', 'no stream')).kind).toBe('reconnect');
  });

  it('makes a purged position fatal with its own code', () => {
    const a = classifyFailure(
      mysqlError(
        1236,
        'ER_MASTER_FATAL_ERROR_READING_BINLOG',
        'Could not find GTID state requested by slave in any binlog files. Probably the slave state is too old and required binlog files have been purged.',
      ),
    );
    expect(a.kind).toBe('fatal');
    expect(a.error).toMatchObject({ code: 'SLUICE_BINLOG_POSITION_PURGED' });
    const b = classifyFailure(
      mysqlError(1236, 'X', 'Client requested master to start replication from impossible position'),
    );
    expect(b.error).toMatchObject({ code: 'SLUICE_BINLOG_STREAM' });
  });

  it('treats unknown errors and configuration problems as fatal', () => {
    expect(classifyFailure(new Error('Unsupported type "99"')).error).toMatchObject({
      code: 'SLUICE_BINLOG_STREAM',
    });
    expect(classifyFailure(new SluiceError('SLUICE_PUBLISH_TOO_LARGE', 'big')).error).toMatchObject({
      code: 'SLUICE_PUBLISH_TOO_LARGE',
    });
    expect(classifyFailure(new SluiceError('SLUICE_BINLOG_FORMAT', 'stmt')).kind).toBe('fatal');
  });
});

describe('reconnectDelayMs', () => {
  it('doubles from min and caps at max', () => {
    expect([1, 2, 3, 4].map((a) => reconnectDelayMs(a, 250, 1_000, 1))).toEqual([250, 500, 1_000, 1_000]);
    expect(reconnectDelayMs(100, 250, 30_000, 1)).toBe(30_000);
  });

  it('jitters within the upper half of the step', () => {
    expect(reconnectDelayMs(3, 250, 30_000, 0)).toBe(500);
    expect(reconnectDelayMs(3, 250, 30_000, 0.5)).toBe(750);
  });
});
