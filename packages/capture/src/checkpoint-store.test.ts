import { createLogger, isSluiceError } from '@sluice/core';
import { describe, expect, test } from 'vitest';
import { startPointFor, type Checkpoint } from './checkpoint-store.js';

const log = createLogger({ level: 'silent', pretty: false });
const at = (cp: Partial<Checkpoint>): Checkpoint => ({
  file: 'bin.000007',
  pos: 1234,
  updatedAt: '2026-11-26T00:00:00.000Z',
  ...cp,
});

describe('startPointFor', () => {
  test('no checkpoint: the current end of the binlog', () => {
    expect(startPointFor(undefined, 1, log)).toEqual({ startAtEnd: true });
  });

  test('a GTID wins over file and position, on any server', () => {
    expect(startPointFor(at({ gtid: '0-1-42', serverId: 1 }), 2, log)).toEqual({ gtidSet: '0-1-42' });
  });

  test('file and position on the server that wrote them', () => {
    expect(startPointFor(at({ serverId: 1 }), 1, log)).toEqual({ filename: 'bin.000007', position: 1234 });
  });

  test('file and position of another server: SLUICE_CHECKPOINT_FOREIGN, never a silent jump', () => {
    let error: unknown;
    try {
      startPointFor(at({ serverId: 1 }), 2, log);
    } catch (err) {
      error = err;
    }
    expect(isSluiceError(error, 'SLUICE_CHECKPOINT_FOREIGN')).toBe(true);
  });
});
