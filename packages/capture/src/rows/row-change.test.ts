import { describe, expect, it } from 'vitest';
import { changedColumns, rowChange, rowKey, type TableShape } from './row-change.js';
import { ColumnType } from '../mysql/row-values.js';

const shape: TableShape = {
  database: 'shop',
  table: 'orders',
  columns: [
    { name: 'id', type: ColumnType.LONGLONG, json: false },
    { name: 'region', type: 15, json: false },
    { name: 'tags', type: ColumnType.SET, json: false },
  ],
  primaryKey: ['region', 'id'],
};

describe('rowChange', () => {
  it('insert: after only, every column changed, key from the primary key in key order', () => {
    const { change, key } = rowChange(shape, 'insert', null, { id: 7, region: 'eu', tags: 'a,b' });
    expect(change).toEqual({
      op: 'insert',
      database: 'shop',
      table: 'orders',
      before: null,
      after: { id: '7', region: 'eu', tags: ['a', 'b'] },
      changed: ['id', 'region', 'tags'],
      primaryKey: ['region', 'id'],
    });
    expect(key).toBe('eu,7');
  });

  it('update: changed lists only differing normalised values', () => {
    const { change } = rowChange(
      shape,
      'update',
      { id: 7, region: 'eu', tags: 'a,b' },
      { id: 7, region: 'eu', tags: 'a' },
    );
    expect(change.changed).toEqual(['tags']);
    expect(changedColumns(shape, change.after, change.after)).toEqual([]);
  });

  it('delete: before only, key from the old image', () => {
    const { change, key } = rowChange(shape, 'delete', { id: 7, region: 'eu', tags: '' }, null);
    expect(change.after).toBeNull();
    expect(change.changed).toHaveLength(3);
    expect(key).toBe('eu,7');
  });

  it('without a primary key, the key is a stable hash of the row', () => {
    const noPk = { ...shape, primaryKey: [] };
    const row = { id: '1', region: 'x', tags: [] };
    expect(rowKey(noPk, row)).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(rowKey(noPk, { ...row })).toBe(rowKey(noPk, row));
    expect(rowKey(noPk, { ...row, id: '2' })).not.toBe(rowKey(noPk, row));
  });
});
