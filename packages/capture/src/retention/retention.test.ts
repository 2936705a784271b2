import { describe, expect, it } from 'vitest';
import {
  RotationLog,
  assessRetention,
  expireSecondsOf,
  maxTotalBytesOf,
  type RetentionInput,
} from './retention.js';

const HOUR = 3600_000;
const logs = (...sizes: number[]) => sizes.map((size, i) => ({ name: `bin.00000${i + 1}`, size }));
const base: RetentionInput = {
  binlogs: logs(1000, 2000, 3000),
  checkpoint: { file: 'bin.000003', pos: 1000 },
  expireSeconds: 0,
  maxTotalBytes: 0,
  closedAtMs: undefined,
  nowMs: 10 * 24 * HOUR,
  marginFiles: 1,
  marginMs: 6 * HOUR,
};

describe('assessRetention', () => {
  it('is never low while the checkpoint is in the file being written', () => {
    expect(assessRetention(base)).toEqual({
      oldestBinlog: 'bin.000001',
      newestBinlog: 'bin.000003',
      checkpointFile: 'bin.000003',
      filesOlder: 2,
      filesBehind: 0,
      bytesBehind: 2000,
      expireSeconds: 0,
      maxTotalBytes: 0,
      retentionHeadroomMs: null,
      low: false,
    });
    const onlyFile = { ...base, binlogs: logs(500), checkpoint: { file: 'bin.000001', pos: 200 } };
    expect(assessRetention({ ...onlyFile, expireSeconds: 60, closedAtMs: 0 })).toMatchObject({
      filesOlder: 0,
      retentionHeadroomMs: null,
      low: false,
    });
  });

  it('is low when the closed checkpoint file has fewer older files than the margin', () => {
    const oldest = { ...base, expireSeconds: 7 * 86_400, checkpoint: { file: 'bin.000001', pos: 400 } };
    expect(assessRetention(oldest)).toMatchObject({
      filesOlder: 0,
      filesBehind: 2,
      bytesBehind: 600 + 2000 + 3000,
      low: true,
    });
    const second = { ...oldest, checkpoint: { file: 'bin.000002', pos: 0 } };
    expect(assessRetention(second)?.low).toBe(false);
    expect(assessRetention({ ...second, marginFiles: 2 })?.low).toBe(true);
    expect(assessRetention({ ...oldest, marginFiles: 0 })?.low).toBe(false);
  });

  it('is never low for a file still on the server when the server purges nothing by itself', () => {
    // Expiry 0 (MariaDB's default): a restart's rotation leaves the checkpoint in the oldest, closed
    // file, and nothing will purge it but a PURGE someone runs.
    const restarted = { ...base, binlogs: logs(900, 300), checkpoint: { file: 'bin.000001', pos: 900 } };
    expect(assessRetention(restarted)).toMatchObject({
      filesOlder: 0,
      filesBehind: 1,
      expireSeconds: 0,
      maxTotalBytes: 0,
      retentionHeadroomMs: null,
      low: false,
    });
    expect(assessRetention({ ...restarted, marginFiles: 5 })?.low).toBe(false);
    // Either way of purging by itself makes the oldest file next in line.
    expect(assessRetention({ ...restarted, expireSeconds: 1 })?.low).toBe(true);
    expect(assessRetention({ ...restarted, maxTotalBytes: 1 << 30 })).toMatchObject({
      maxTotalBytes: 1 << 30,
      low: true,
    });
  });

  it('computes the headroom before expiry from when the file was closed', () => {
    const closed = {
      ...base,
      checkpoint: { file: 'bin.000002', pos: 0 },
      expireSeconds: 24 * 3600,
    };
    // Closed 20 h ago, kept 24 h: 4 h left, under the 6 h margin.
    const soon = assessRetention({ ...closed, closedAtMs: base.nowMs - 20 * HOUR });
    expect(soon).toMatchObject({ retentionHeadroomMs: 4 * HOUR, low: true, expireSeconds: 86_400 });
    const later = assessRetention({ ...closed, closedAtMs: base.nowMs - 10 * HOUR });
    expect(later).toMatchObject({ retentionHeadroomMs: 14 * HOUR, low: false });
    // Past the expiry: purged at the next rotation.
    expect(assessRetention({ ...closed, closedAtMs: base.nowMs - 30 * HOUR })).toMatchObject({
      retentionHeadroomMs: -6 * HOUR,
      low: true,
    });
  });

  it('leaves the headroom unknown until capture has read the end of the file, or without expiry', () => {
    const closed = { ...base, checkpoint: { file: 'bin.000002', pos: 0 } };
    expect(assessRetention({ ...closed, expireSeconds: 60 })?.retentionHeadroomMs).toBeNull();
    expect(assessRetention({ ...closed, closedAtMs: 0 })?.retentionHeadroomMs).toBeNull();
  });

  it('reports a checkpoint file that is gone as low', () => {
    const gone = { ...base, binlogs: logs(1000, 2000).slice(1), checkpoint: { file: 'bin.000001', pos: 9 } };
    expect(assessRetention(gone)).toMatchObject({
      oldestBinlog: 'bin.000002',
      filesOlder: -1,
      filesBehind: 1,
      retentionHeadroomMs: 0,
      low: true,
    });
  });

  it('has nothing to say without binlogs', () => {
    expect(assessRetention({ ...base, binlogs: [] })).toBeUndefined();
  });
});

describe('expireSecondsOf', () => {
  it('prefers binlog_expire_logs_seconds, then expire_logs_days (fractional on MariaDB)', () => {
    expect(expireSecondsOf({ binlog_expire_logs_seconds: '3600', expire_logs_days: '7' })).toBe(3600);
    expect(expireSecondsOf({ binlog_expire_logs_seconds: '0', expire_logs_days: '0.500000' })).toBe(43_200);
    expect(expireSecondsOf({ expire_logs_days: '2' })).toBe(172_800);
    expect(expireSecondsOf({ binlog_expire_logs_seconds: '0', expire_logs_days: '0.000000' })).toBe(0);
    expect(expireSecondsOf({})).toBe(0);
  });
});

describe('maxTotalBytesOf', () => {
  it('reads MariaDB max_binlog_total_size, or binlog_space_limit; 0 when unset', () => {
    expect(maxTotalBytesOf({ max_binlog_total_size: '1073741824' })).toBe(1_073_741_824);
    expect(maxTotalBytesOf({ binlog_space_limit: '4096' })).toBe(4096);
    expect(maxTotalBytesOf({ max_binlog_total_size: '0', binlog_space_limit: '0' })).toBe(0);
    expect(maxTotalBytesOf({})).toBe(0);
  });
});

describe('RotationLog', () => {
  it('records real rotate events and ignores the synthetic one a dump starts with', () => {
    const log = new RotationLog();
    log.rotated('bin.000001', 0);
    log.rotated('', 5);
    expect(log.closedAt('bin.000001')).toBeUndefined();
    log.rotated('bin.000001', 1_000);
    expect(log.closedAt('bin.000001')).toBe(1_000);
  });

  it('keeps a bounded number of files, the newest', () => {
    const log = new RotationLog();
    for (let i = 1; i <= 100; i++) log.rotated(`bin.${String(i).padStart(6, '0')}`, i);
    expect(log.closedAt('bin.000001')).toBeUndefined();
    expect(log.closedAt('bin.000100')).toBe(100);
    expect(log.closedAt('bin.000037')).toBe(37);
    expect(log.closedAt('bin.000036')).toBeUndefined();
  });
});
