import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// A maintainer who clones the repository must find every document the code and the docs name. Two
// kinds of citation are checked:
// - a `.md` path in a source comment (`docs/decisions/0007-delivery-engine.md`, `README.md`): a path
//   with a directory must exist from the repository root or from the citing file; a bare file name
//   somewhere in the repository;
// - a link in a Markdown file (`[errors](errors.md#sluice_config_invalid)`): its target must exist
//   relative to that file, and a `#section` of a Markdown target must be one of its headings.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.turbo', '.sluice', 'coverage', 'out']);

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

const files = walk(ROOT);
const markdown = files.filter((f) => f.endsWith('.md'));
const sources = files.filter((f) => /\.(ts|js|mjs)$/.test(f) || /\/scripts\/[^/]+\.sh$|\/\.ci\/run$/.test(f));
const namesInRepo = new Set(files.map((f) => f.slice(f.lastIndexOf('/') + 1)));

/** The text of every comment of a TypeScript or JavaScript file (`#` lines of a shell script). */
function commentsOf(path: string, text: string): string[] {
  if (!/\.(ts|js|mjs)$/.test(path)) return text.split('\n').filter((l) => /^\s*#/.test(l));
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false);
  const seen = new Map<number, string>();
  const add = (ranges: ts.CommentRange[] | undefined): void => {
    for (const r of ranges ?? []) seen.set(r.pos, text.slice(r.pos, r.end));
  };
  const visit = (node: ts.Node): void => {
    add(ts.getLeadingCommentRanges(text, node.getFullStart()));
    add(ts.getTrailingCommentRanges(text, node.getEnd()));
    node.forEachChild(visit);
  };
  visit(file);
  return [...seen.values()];
}

/** The `.md` paths a comment cites (URLs left out), with their `#section` when given. */
function citedPaths(comment: string): string[] {
  const text = comment.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '');
  return [...text.matchAll(/(?<![\w./*-])((?:\.{1,2}\/)*(?:[\w-]+\/)*[\w-][\w.-]*\.md)\b/g)].map(
    (m) => m[1]!,
  );
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to `-`. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(path: string): Set<string> {
  const anchors = new Set<string>();
  let fence = false;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (/^\s*```/.test(line)) fence = !fence;
    const heading = fence ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1]!.replace(/`/g, ''));
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

function brokenComments(): string[] {
  const broken: string[] = [];
  for (const file of sources) {
    for (const comment of commentsOf(file, readFileSync(file, 'utf8'))) {
      for (const cited of citedPaths(comment)) {
        const found = cited.includes('/')
          ? existsSync(join(ROOT, cited)) || existsSync(resolve(dirname(file), cited))
          : namesInRepo.has(cited);
        if (!found) broken.push(`${relative(ROOT, file)}: ${cited}`);
      }
    }
  }
  return broken;
}

function brokenLinks(): string[] {
  const broken: string[] = [];
  for (const file of markdown) {
    let fence = false;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (/^\s*```/.test(line)) fence = !fence;
      if (fence) continue;
      for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const [path = '', anchor] = target.split('#');
        const full = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
        const where = `${relative(ROOT, file)}: ${target}`;
        if (!existsSync(full)) broken.push(where);
        else if (anchor !== undefined && full.endsWith('.md') && !anchorsOf(full).has(anchor))
          broken.push(`${where} (no such heading)`);
      }
    }
  }
  return broken;
}

describe('documents cited by the code and the docs', () => {
  it('are found in the files they are looked for in', () => {
    expect(sources.some((f) => f.endsWith('packages/core/src/config.ts'))).toBe(true);
    expect(markdown.some((f) => f.endsWith('docs/architecture.md'))).toBe(true);
  });

  it('read comments and headings as a reader does', () => {
    const text = '// see docs/a.md and https://x.example/b.md\nconst s = "docs/c.md"; /* README.md */\n';
    expect(commentsOf('x.ts', text).flatMap(citedPaths)).toEqual(['docs/a.md', 'README.md']);
    expect(citedPaths('every docs/**/*.md file, docs/decisions/0007-delivery-engine.md')).toEqual([
      'docs/decisions/0007-delivery-engine.md',
    ]);
    expect(slug('`${VAR}` interpolation')).toBe('var-interpolation');
    expect(slug('SLUICE_CONFIG_INVALID')).toBe('sluice_config_invalid');
    expect(slug('I6: one bad endpoint does not slow the others')).toBe(
      'i6-one-bad-endpoint-does-not-slow-the-others',
    );
  });

  it('exist: every .md path named in a source comment', () => {
    expect(brokenComments()).toEqual([]);
  });

  it('exist: every link in a Markdown file, and the heading it points at', () => {
    expect(brokenLinks()).toEqual([]);
  });
});
