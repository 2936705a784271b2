import { describe, expect, it } from 'vitest';
import { renderTable } from './table.js';

describe('renderTable', () => {
  it('pads columns to their widest cell, prints - for a missing one, leaves no trailing blanks', () => {
    const rows = [
      { id: 'a', n: 1, note: 'short' },
      { id: 'longer', n: undefined, note: 'x' },
    ];
    const lines = renderTable(
      [
        { heading: 'ID', cell: (r: (typeof rows)[number]) => r.id },
        { heading: 'N', cell: (r) => r.n },
        { heading: 'NOTE', cell: (r) => r.note },
      ],
      rows,
    );
    expect(lines).toEqual(['ID      N  NOTE', 'a       1  short', 'longer  -  x']);
  });

  it('prints the heading alone for no rows', () => {
    expect(renderTable([{ heading: 'SEQ', cell: () => 1 }], [])).toEqual(['SEQ']);
  });
});
