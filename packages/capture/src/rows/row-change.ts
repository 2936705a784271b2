import { createHash } from 'node:crypto';
import type { RowChange, RowOperation } from '@sluice/core';
import { normalizeValue, type ColumnSpec } from '../mysql/row-values.js';

/** A table as the capturer knows it from its latest TableMap event. */
export interface TableShape {
  readonly database: string;
  readonly table: string;
  readonly columns: readonly ColumnSpec[];
  /** Primary-key column names in key order; empty when the table has none. */
  readonly primaryKey: readonly string[];
}

/** A row image as zongji decodes it: column name → raw value. */
export type RawRow = Readonly<Record<string, unknown>>;

/** Normalises every column of a row image (docs/events.md, "Values"). */
export function normalizeRow(shape: TableShape, row: RawRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const col of shape.columns) out[col.name] = normalizeValue(col, row[col.name]);
  return out;
}

/** Column names whose normalised values differ; every column when one side is absent. */
export function changedColumns(
  shape: TableShape,
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): string[] {
  if (before === null || after === null) return shape.columns.map((c) => c.name);
  return shape.columns.filter((c) => !sameValue(before[c.name], after[c.name])).map((c) => c.name);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // Normalised values are JSON: objects and arrays (JSON, SET columns) compare by their encoding.
  return (
    typeof a === 'object' &&
    typeof b === 'object' &&
    a !== null &&
    b !== null &&
    JSON.stringify(a) === JSON.stringify(b)
  );
}

/**
 * The partition key and CloudEvent `subject` of a row: primary-key values joined with `,` (strings as
 * they are, other values JSON-encoded). Without a primary key, `sha256:` + a hash of the row's JSON, so
 * that identical rows still land together. Updates use the new image, deletes the old one.
 */
export function rowKey(shape: TableShape, row: Record<string, unknown>): string {
  if (shape.primaryKey.length === 0) {
    return `sha256:${createHash('sha256').update(JSON.stringify(row)).digest('hex').slice(0, 32)}`;
  }
  return shape.primaryKey.map((name) => keyPart(row[name])).join(',');
}

function keyPart(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Builds the `data` of a CDC event and its key from zongji's before/after images. */
export function rowChange(
  shape: TableShape,
  op: RowOperation,
  rawBefore: RawRow | null,
  rawAfter: RawRow | null,
): { change: RowChange; key: string } {
  const before = rawBefore === null ? null : normalizeRow(shape, rawBefore);
  const after = rawAfter === null ? null : normalizeRow(shape, rawAfter);
  const change: RowChange = {
    op,
    database: shape.database,
    table: shape.table,
    before,
    after,
    changed: changedColumns(shape, before, after),
    primaryKey: [...shape.primaryKey],
  };
  return { change, key: rowKey(shape, (after ?? before)!) };
}
