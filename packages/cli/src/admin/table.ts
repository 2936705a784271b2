/** One column of a table: its heading and how to read a cell from a row. */
export interface Column<T> {
  readonly heading: string;
  readonly cell: (row: T) => string | number | undefined;
}

/**
 * Lays `rows` out as a plain-text table: a heading line, then one line per row, columns separated by
 * two spaces and padded to their widest cell. Missing cells print as `-`; the last column is not
 * padded, so lines carry no trailing blanks.
 */
export function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string[] {
  const cells = rows.map((r) => columns.map((c) => String(c.cell(r) ?? '-')));
  const widths = columns.map((c, i) => Math.max(c.heading.length, ...cells.map((line) => line[i]!.length)));
  const lay = (line: readonly string[]): string =>
    line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return [lay(columns.map((c) => c.heading)), ...cells.map(lay)];
}
