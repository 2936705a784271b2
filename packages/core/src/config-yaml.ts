import { LineCounter, parseDocument, visit } from 'yaml';
import { SluiceError } from './errors.js';

/** One YAML syntax error of a configuration file, with its position (1-based). */
export interface YamlProblem {
  readonly line: number;
  readonly column: number;
  /** The parser's error code, e.g. `TAB_AS_INDENT`, `DUPLICATE_KEY`, `BAD_INDENT`; `UNRESOLVED_ALIAS`. */
  readonly code: string;
  readonly message: string;
}

/**
 * Parses configuration text into plain data.
 * @throws SluiceError `SLUICE_CONFIG_PARSE` whose message lists every syntax error with line, column
 *   and reason, and whose `details.problems` lists them as {@link YamlProblem}s.
 */
export function parseConfigYaml(text: string, origin: string): unknown {
  const lines = new LineCounter();
  // prettyErrors off: the messages stay one line; positions come from the line counter.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: YamlProblem[] = doc.errors.map((e) => {
    const { line, col } = lines.linePos(e.pos[0]);
    return { line, column: col, code: e.code, message: e.message };
  });
  // An unquoted type pattern such as `*.orders.insert` is a YAML alias to an anchor that does not
  // exist; the parser only notices when the value is built, and then without a position.
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) !== undefined) return;
      const { line, col } = lines.linePos(node.range?.[0] ?? 0);
      problems.push({
        line,
        column: col,
        code: 'UNRESOLVED_ALIAS',
        message: `\`*${node.source}\` reads as a YAML alias; quote it: "*${node.source}"`,
      });
    },
  });
  if (problems.length === 0) {
    try {
      return doc.toJS({ maxAliasCount: 100 }) as unknown;
    } catch (cause) {
      // e.g. an alias bomb beyond maxAliasCount
      throw new SluiceError('SLUICE_CONFIG_PARSE', `${origin} is not valid YAML: ${String(cause)}`, {
        cause,
        details: { problems: [] },
      });
    }
  }
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  const list = problems.map((p) => `  - line ${p.line}, column ${p.column}: ${p.message} [${p.code}]`);
  throw new SluiceError('SLUICE_CONFIG_PARSE', `${origin} is not valid YAML:\n${list.join('\n')}`, {
    cause: doc.errors[0],
    details: { problems },
  });
}
