export { BinlogCapture } from './binlog-capture.js';
export type { BinlogCaptureOptions, CaptureStats } from './binlog-capture.js';
export type { RetentionStatus } from './retention.js';
export type { OversizeLocation, OversizeReference } from './oversize.js';
export { BINLOG_EVENT_CHANNEL } from './binlog-event-channel.js';
export type { BinlogEventMessage } from './binlog-event-channel.js';
export { checkMysql, preflight, evaluateMysql } from './preflight.js';
export type { MysqlCheck, MysqlCheckOptions, MysqlFacts } from './preflight.js';
export { loadCheckpoint } from './checkpoint-store.js';
export type { Checkpoint } from './checkpoint-store.js';
export { normalizeValue, ColumnType } from './row-values.js';
export type { ColumnSpec } from './row-values.js';
export { rowChange, rowKey } from './row-change.js';
export { ddlEventType } from './ddl-event.js';
export type { DdlChange, DdlOutcome } from './ddl-event.js';
export type { DdlKind, DdlObject } from './ddl-statement.js';
export type { TableShape, RawRow } from './row-change.js';
export { tableFilter, SYSTEM_SCHEMAS } from './schema-filter.js';
export type { TableFilter } from './schema-filter.js';
export { mysqlOptions, redactUrl } from './mysql-url.js';
export { Backfill, backfillChunkChannel } from './backfill.js';
export type { BackfillOptions, BackfillStatus, BackfillSummary } from './backfill.js';
export type { BackfillRun, TableProgress } from './backfill-progress.js';
export type { TableRef } from './backfill-tables.js';
export { readEventId } from './backfill-event.js';
export { parseNotification, readNotification } from './object-notifications/notification-records.js';
export type { Notification, ObjectRecord } from './object-notifications/notification-records.js';
export {
  objectEvent,
  objectEventMessages,
  objectEventType,
  objectEvents,
} from './object-notifications/object-event.js';
export type {
  ObjectEvent,
  ObjectEventData,
  ObjectEventType,
  ObjectEvents,
  ObjectSourceRef,
} from './object-notifications/object-event.js';
export { NotificationConsumer } from './object-notifications/notification-consumer.js';
export type {
  NotificationConsumerOptions,
  NotificationStats,
} from './object-notifications/notification-consumer.js';
export { readCaptureStatus, positionText } from './capture-status.js';
export type { CaptureStatus } from './capture-status.js';
