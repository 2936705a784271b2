import { parse, type AnyNode } from '@humanwhocodes/momoa';

/**
 * Parses one JSON text strictly (RFC 8259, no comments or trailing commas) and fails on an object
 * with the same key twice, which `JSON.parse` silently resolves to the last value and which strict log
 * pipelines reject. Returns the value.
 * @throws Error naming the repeated key and where it is.
 */
export function parseStrictJson(text: string): unknown {
  const doc = parse(text, { mode: 'json', ranges: false, tokens: false });
  checkDuplicates(doc.body, '$');
  return JSON.parse(text) as unknown;
}

function checkDuplicates(node: AnyNode, path: string): void {
  if (node.type === 'Object') {
    const seen = new Set<string>();
    for (const m of node.members) {
      const key = m.name.type === 'String' ? m.name.value : m.name.name;
      if (seen.has(key)) throw new Error(`duplicate key "${key}" in ${path}`);
      seen.add(key);
      checkDuplicates(m.value, `${path}.${key}`);
    }
  } else if (node.type === 'Array')
    node.elements.forEach((e, i) => checkDuplicates(e.value, `${path}[${i}]`));
}

/**
 * Every line of a process's output that is a JSON log line (starts with `{`), parsed strictly; the
 * others (banner, demo receiver) are left out.
 * @throws Error for the first line that is not strict JSON, quoting it.
 */
export function strictLogLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return parseStrictJson(line) as Record<string, unknown>;
      } catch (err) {
        throw new Error(`${(err as Error).message}: ${line.slice(0, 300)}`);
      }
    });
}
