import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@sluice/core';
import { startApi, type ApiKit } from './api-kit.js';

// docs/openapi.json is the API's contract: the server serves that very file, and it describes
// exactly the routes the server registers, with the scope each one enforces.

const DOC_URL = new URL('../../../docs/openapi.json', import.meta.url);
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

interface Operation {
  'x-sluice-scope'?: string;
  security?: unknown[];
  responses: Record<string, unknown>;
}
type PathItem = Partial<Record<(typeof METHODS)[number], Operation>>;

let kit: ApiKit;
beforeAll(async () => {
  kit = await startApi();
});
afterAll(async () => {
  await kit[Symbol.asyncDispose]();
});

/** `/v1/x/:id` → `/v1/x/{id}` */
function openapiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

describe('docs/openapi.json', () => {
  it('is what GET /v1/openapi.json serves, byte for byte', async () => {
    const res = await kit.server.app.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.equals(readFileSync(DOC_URL))).toBe(true);
  });

  it('documents every registered route with its scope, and nothing else', () => {
    const doc = JSON.parse(readFileSync(DOC_URL, 'utf8')) as { paths: Record<string, PathItem> };
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      METHODS.filter((m) => item[m] !== undefined).map((m) => ({
        key: `${m.toUpperCase()} ${path}`,
        op: item[m]!,
      })),
    );
    const registered = kit.server.routes.map((r) => ({
      key: `${r.method} ${openapiPath(r.url)}`,
      scope: r.scope,
    }));
    expect(registered.length).toBeGreaterThanOrEqual(4);
    expect(documented.map((d) => d.key).sort()).toEqual(registered.map((r) => r.key).sort());
    for (const r of registered) {
      const op = documented.find((d) => d.key === r.key)!.op;
      expect(op['x-sluice-scope'], r.key).toBe(r.scope);
      // A public route says so (security: []); a guarded one documents 401 and 403.
      if (r.scope === undefined) expect(op.security, r.key).toEqual([]);
      else expect(Object.keys(op.responses), r.key).toEqual(expect.arrayContaining(['401', '403']));
    }
  });

  it('names only error codes that exist', () => {
    const text = readFileSync(DOC_URL, 'utf8');
    const codes = (text.match(/SLUICE_[A-Z0-9_]+/g) ?? []).filter((name) => name !== 'SLUICE_EVENTS');
    expect(codes.length).toBeGreaterThan(5);
    for (const code of codes) expect(ErrorCodes).toHaveProperty(code);
  });
});
