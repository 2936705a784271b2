import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig, type ConfigProblem } from './config.js';
import { SluiceError } from './errors.js';

// Every ```yaml block in README.md and docs/**/*.md is a sluice configuration a reader may copy, so
// each must load. A block that is only part of a configuration (it names an endpoint defined
// elsewhere, say) carries the line `<!-- config fragment -->` right above its fence: it must still
// load, except for `required` and `reference` problems — the parts that live elsewhere.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FRAGMENT = '<!-- config fragment -->';

/** The environment the snippets' `${VAR}` placeholders are given; a new placeholder needs a value here. */
const ENV: Record<string, string> = {
  BILLING_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
  NATS_PASSWORD: 'nats-password',
  SHOP_CAPTURE_PASSWORD: 'capture-password',
  SHOP_DB_PASSWORD: 'db-password',
};

interface Snippet {
  readonly where: string;
  readonly text: string;
  readonly fragment: boolean;
}

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(ROOT, 'docs', f));
  return [join(ROOT, 'README.md'), ...docs.sort()];
}

function snippets(file: string): Snippet[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```ya?ml\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const end = lines.findIndex((l, j) => j > i && /^\s*```\s*$/.test(l));
    if (end < 0) throw new Error(`${file}:${i + 1}: unclosed yaml block`);
    const above = lines
      .slice(0, i)
      .reverse()
      .find((l) => l.trim() !== '');
    out.push({
      where: `${relative(ROOT, file)}:${i + 1}`,
      text: lines
        .slice(i + 1, end)
        .map((l) => l.slice(indent))
        .join('\n'),
      fragment: above?.trim() === FRAGMENT,
    });
    i = end;
  }
  return out;
}

const all = markdownFiles().flatMap(snippets);

async function problemsOf(snippet: Snippet): Promise<string[]> {
  const missing = [...snippet.text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)]
    .map((m) => m[1]!)
    .filter((name) => !(name in ENV));
  if (missing.length > 0) return missing.map((name) => `\${${name}} has no value in ENV of this test`);
  try {
    await loadConfig({ text: snippet.text, env: ENV, path: snippet.where });
    return [];
  } catch (err) {
    if (!(err instanceof SluiceError) || err.code !== 'SLUICE_CONFIG_INVALID') return [String(err)];
    const problems = err.details!.problems as ConfigProblem[];
    return problems
      .filter((p) => !(snippet.fragment && (p.kind === 'required' || p.kind === 'reference')))
      .map((p) => `${p.path}: ${p.message} [${p.kind}]`);
  }
}

describe('configuration snippets in README.md and docs/', () => {
  it('are found', () => {
    // README's minimal configuration and docs/configuration.md's example at least.
    expect(all.filter((s) => s.where.startsWith('README.md')).length).toBeGreaterThan(0);
    expect(all.some((s) => s.where.startsWith('docs/configuration.md'))).toBe(true);
  });

  it.each(all.map((s) => [s.where, s] as const))('%s loads', async (_, snippet) => {
    expect(await problemsOf(snippet)).toEqual([]);
  });

  it('tell a fragment from a whole configuration by the marker above it', async () => {
    const fragment = { where: 'x.md:1', text: 'subscriptions:\n  - { id: s, endpoint: e, types: [">"] }' };
    expect(await problemsOf({ ...fragment, fragment: true })).toEqual([]);
    expect(await problemsOf({ ...fragment, fragment: false })).toEqual([
      '/subscriptions/0/endpoint: no endpoint with id "e" [reference]',
    ]);
    // The marker is read: README's MinIO source names an endpoint defined elsewhere.
    expect(all.filter((s) => s.fragment).map((s) => s.where.split(':')[0])).toContain('README.md');
  });
});
