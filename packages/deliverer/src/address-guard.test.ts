import type { LookupAddress, LookupOptions } from 'node:dns';
import { NetworkPolicy, isSluiceError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { guardedLookup, type Resolve, type ResolvedAddress } from './address-guard.js';

// The lookup alone, with a resolver that answers from a table: what it hands net.connect, and when
// it refuses. Connections through it to real servers are in test/network-guard.test.ts.

interface Looked {
  err: NodeJS.ErrnoException | null;
  address: string | LookupAddress[];
  family?: number;
}

function lookupWith(
  policy: NetworkPolicy,
  answer: ResolvedAddress[] | Error,
  options: LookupOptions,
): Promise<Looked & { asked: string[] }> {
  const asked: string[] = [];
  const resolve: Resolve = (host) => {
    asked.push(host);
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };
  return new Promise((done) =>
    guardedLookup(policy, resolve)('hooks.example', options, (err, address, family) =>
      done({ err, address, family, asked }),
    ),
  );
}

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

describe('guardedLookup', () => {
  const policy = new NetworkPolicy(['127.0.0.1/32']);

  it('hands over exactly the addresses it checked, all of them when asked for all', async () => {
    const answer = [v4('8.8.8.8'), v4('127.0.0.1'), v6('2606:4700:4700::1111')];
    const r = await lookupWith(policy, answer, { all: true });
    expect(r.err).toBeNull();
    expect(r.address).toEqual([
      { address: '8.8.8.8', family: 4 },
      { address: '127.0.0.1', family: 4 },
      { address: '2606:4700:4700::1111', family: 6 },
    ]);
    expect(r.asked).toEqual(['hooks.example']);
  });

  it('hands over the first address of the requested family when one is wanted', async () => {
    const answer = [v6('2606:4700:4700::1111'), v4('8.8.8.8')];
    expect(await lookupWith(policy, answer, {})).toMatchObject({
      err: null,
      address: '2606:4700:4700::1111',
      family: 6,
    });
    expect(await lookupWith(policy, answer, { family: 4 })).toMatchObject({ address: '8.8.8.8', family: 4 });
    expect(await lookupWith(policy, [v4('8.8.8.8')], { family: 6 })).toMatchObject({
      err: { code: 'ENOTFOUND' },
    });
  });

  it.each([
    ['127.0.0.2', [v4('127.0.0.2')]],
    ['169.254.169.254', [v4('169.254.169.254')]],
    ['10.0.0.1', [v4('10.0.0.1')]],
    ['::ffff:127.0.0.2', [v6('::ffff:127.0.0.2')]],
    ['::1', [v6('::1')]],
    ['a mixed answer (public first)', [v4('8.8.8.8'), v4('10.0.0.1')]],
    ['a mixed answer (blocked IPv6 of another family)', [v4('127.0.0.1'), v6('fd00::1')]],
  ])('refuses %s with SLUICE_ENDPOINT_URL_BLOCKED and hands over no address', async (_, answer) => {
    for (const options of [{ all: true }, {}, { family: 4 }] as LookupOptions[]) {
      const r = await lookupWith(policy, answer, options);
      expect(isSluiceError(r.err, 'SLUICE_ENDPOINT_URL_BLOCKED')).toBe(true);
      expect(r.err!.message).toMatch(/hooks\.example/);
      expect(r.address === '' || (Array.isArray(r.address) && r.address.length === 0)).toBe(true);
    }
  });

  it('passes a resolver failure through unchanged', async () => {
    const failure = Object.assign(new Error('queryA ENOTFOUND hooks.example'), { code: 'ENOTFOUND' });
    const r = await lookupWith(policy, failure, { all: true });
    expect(r.err).toBe(failure);
  });

  it('treats an empty answer as not found', async () => {
    expect(await lookupWith(policy, [], { all: true })).toMatchObject({ err: { code: 'ENOTFOUND' } });
  });
});
