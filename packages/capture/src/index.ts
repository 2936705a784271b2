// The names other packages import. Everything else is reached inside the package by module path.
export { BinlogCapture } from './binlog/binlog-capture.js';
export type { BinlogCaptureOptions, CaptureStats } from './binlog/binlog-capture.js';
export { BINLOG_EVENT_CHANNEL } from './binlog/binlog-event-channel.js';
export { checkMysql } from './mysql/preflight.js';
export { Backfill } from './backfill/backfill.js';
export type { BackfillOptions, BackfillStatus, BackfillSummary } from './backfill/backfill.js';
export type { TableProgress } from './backfill/backfill-progress.js';
export type { TableRef } from './backfill/backfill-tables.js';
export { readCaptureStatus, positionText } from './resume/capture-status.js';
export type { CaptureStatus } from './resume/capture-status.js';
export { startCapture } from './start-capture.js';
