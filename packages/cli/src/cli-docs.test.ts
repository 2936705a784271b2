import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { helpText } from './args.js';
import { COMMANDS } from './commands.js';

// docs/cli.md shows the help of every command verbatim; adding or changing a command or option
// without updating the page fails here.
const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');

describe('docs/cli.md', () => {
  test('shows the overview help verbatim', () => {
    expect(doc).toContain(`$ sluice --help\n${helpText(undefined)}\n`);
  });

  test.each(COMMANDS.map((c) => c.name))('documents "sluice %s" with its help verbatim', (name) => {
    expect(doc).toContain(`## sluice ${name}\n`);
    expect(doc).toContain(`$ sluice ${name} --help\n${helpText(name)}\n`);
  });

  test('documents no command that does not exist', () => {
    const documented = [...doc.matchAll(/^## sluice (\S+)$/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });
});
