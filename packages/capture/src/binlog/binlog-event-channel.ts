import { channel } from 'node:diagnostics_channel';
import type { AnyBinlogEvent, RowsEvent, TableMapEvent } from '@vlasky/zongji';

/**
 * `diagnostics_channel` on which every binlog event is announced just before it is handled (only
 * while someone subscribes), as a {@link BinlogEventMessage}. Crash tests stop the process here.
 */
export const BINLOG_EVENT_CHANNEL = 'sluice:capture:binlog-event';

/** What {@link BINLOG_EVENT_CHANNEL} carries. */
export interface BinlogEventMessage {
  /** zongji's event name: `mariadbgtid`, `tablemap`, `writerows`, `xid`, `rotate`, `query`, … */
  readonly name: string;
  /** The binlog file being read (for `rotate`, the file it rotates away from). */
  readonly file: string;
  /** Offset just after the event in that file. */
  readonly nextPosition: number;
  /** Rows in a rows event, 0 for the others. */
  readonly rowsInEvent: number;
  /** `schema.table` of a table map or rows event. */
  readonly table?: string;
}

/** The channel itself; publish only while `hasSubscribers`. */
export const binlogEventChannel = channel(BINLOG_EVENT_CHANNEL);

/** The message announcing `ev`, read while `file` is the binlog file being read. */
export function describeBinlogEvent(ev: AnyBinlogEvent, file: string): BinlogEventMessage {
  const e = ev as Partial<RowsEvent & TableMapEvent> & { rows?: unknown[] };
  const map = e.tableId !== undefined ? e.tableMap?.[e.tableId] : undefined;
  const table =
    e.schemaName !== undefined
      ? `${e.schemaName}.${e.tableName}`
      : map && `${map.parentSchema}.${map.tableName}`;
  return {
    name: ev.getEventName(),
    file,
    nextPosition: ev.nextPosition,
    rowsInEvent: e.rows?.length ?? 0,
    ...(table !== undefined ? { table } : {}),
  };
}
