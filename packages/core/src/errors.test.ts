import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, SluiceError, isSluiceError, type ErrorCode } from './errors.js';

// The catalog and docs/errors.md must not drift apart (fastify test/internals/errors.test.js):
// every code has a section, every section names a code, and nothing is documented twice.
const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
// The one section that is not a code: the my.cnf / GRANT reference the binlog codes link to.
const REFERENCE_SECTIONS = ['Reference: MySQL/MariaDB settings for capture'];
const headings = [...doc.matchAll(/^## (.+?)\s*$/gm)]
  .map((m) => m[1]!)
  .filter((h) => !REFERENCE_SECTIONS.includes(h));
const codes = Object.keys(ErrorCodes) as ErrorCode[];

describe('error catalog ↔ docs/errors.md', () => {
  it.each(codes)('%s has a section in docs/errors.md', (code) => {
    expect(headings).toContain(code);
  });

  it.each(headings)('section %s names a code in ErrorCodes', (heading) => {
    expect(codes).toContain(heading);
  });

  it('keeps the reference section the binlog codes link to', () => {
    expect(doc).toContain(`## ${REFERENCE_SECTIONS[0]}\n`);
  });

  it('documents each code once', () => {
    expect(new Set(headings).size).toBe(headings.length);
  });

  it.each(codes)('%s section says what it means, why, and what to do', (code) => {
    const start = doc.indexOf(`## ${code}\n`);
    const next = doc.indexOf('\n## ', start + 1);
    const section = doc.slice(start, next < 0 ? undefined : next);
    expect(section).toMatch(/\*\*Causes\*\*/);
    expect(section).toMatch(/\*\*What to do\*\*/);
  });

  it('uses only SLUICE_ codes with a one-line meaning', () => {
    for (const [code, meaning] of Object.entries(ErrorCodes)) {
      expect(code).toMatch(/^SLUICE_[A-Z0-9_]+$/);
      expect(meaning.length).toBeGreaterThan(10);
      expect(meaning).not.toContain('\n');
    }
  });
});

describe('SluiceError', () => {
  it('is an Error with a name, a code and a message', () => {
    const err = new SluiceError('SLUICE_BINLOG_FORMAT', 'binlog_format is STATEMENT');
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(SluiceError);
    expect(err.name).toBe('SluiceError');
    expect(err.code).toBe('SLUICE_BINLOG_FORMAT');
    expect(err.message).toBe('binlog_format is STATEMENT');
    expect(err.details).toBeUndefined();
    expect(err.stack).toContain('SluiceError');
  });

  it('keeps the cause', () => {
    const cause = Object.assign(new Error('ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const err = new SluiceError('SLUICE_NATS_CONNECT', 'cannot connect', { cause });
    expect(err.cause).toBe(cause);
  });

  it('has no own cause when none is given', () => {
    const err = new SluiceError('SLUICE_USAGE', 'unknown command');
    expect(Object.hasOwn(err, 'cause')).toBe(false);
  });

  it('serialises to plain data without the cause or stack', () => {
    const err = new SluiceError('SLUICE_PUBLISH_TOO_LARGE', 'event is 2 MiB', {
      cause: new Error('MAX_PAYLOAD_EXCEEDED'),
      details: { bytes: 2_097_152, maxPayload: 1_048_576 },
    });
    expect(err.toJSON()).toEqual({
      name: 'SluiceError',
      code: 'SLUICE_PUBLISH_TOO_LARGE',
      message: 'event is 2 MiB',
      details: { bytes: 2_097_152, maxPayload: 1_048_576 },
    });
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      name: 'SluiceError',
      code: 'SLUICE_PUBLISH_TOO_LARGE',
      message: 'event is 2 MiB',
      details: { bytes: 2_097_152, maxPayload: 1_048_576 },
    });
  });

  it('is recognised by isSluiceError, optionally by code', () => {
    const err = new SluiceError('SLUICE_CODEC', 'bad bytes');
    expect(isSluiceError(err)).toBe(true);
    expect(isSluiceError(err, 'SLUICE_CODEC')).toBe(true);
    expect(isSluiceError(err, 'SLUICE_USAGE')).toBe(false);
    expect(isSluiceError(new Error('x'))).toBe(false);
    expect(isSluiceError({ name: 'SluiceError', code: 'SLUICE_CODEC' })).toBe(false);
    expect(isSluiceError(undefined)).toBe(false);
  });
});
