import { SluiceError } from '@sluice/core';

/**
 * Binlog events MySQL 8 writes that zongji cannot decode, by zongji event name. Each carries row
 * changes, so reading past one would lose them silently: capture stops with `SLUICE_BINLOG_UNSUPPORTED`
 * instead (I8 in docs/architecture.md). Preflight refuses the settings that produce them.
 */
const UNSUPPORTED: Readonly<
  Record<string, { readonly event: string; readonly cause: string; readonly fix: string }>
> = {
  transactionpayload: {
    event: 'TRANSACTION_PAYLOAD_EVENT',
    cause: 'binlog_transaction_compression=ON: the transaction is zstd-compressed',
    fix: 'SET GLOBAL binlog_transaction_compression = OFF',
  },
  partialupdaterows: {
    event: 'PARTIAL_UPDATE_ROWS_EVENT',
    cause: 'binlog_row_value_options=PARTIAL_JSON: the update carries a JSON diff, not the new row',
    fix: "SET GLOBAL binlog_row_value_options = ''",
  },
};

/** The error for an undecodable event, or `undefined` when zongji can decode events named `name`. */
export function unsupportedEvent(name: string, cause?: unknown): SluiceError | undefined {
  const u = UNSUPPORTED[name];
  if (u === undefined) return undefined;
  return new SluiceError(
    'SLUICE_BINLOG_UNSUPPORTED',
    `the binlog holds a ${u.event} (${u.cause}), which capture cannot decode; its row changes would be lost, so capture stopped. Run ${u.fix} (and set it in my.cnf); transactions already written this way cannot be captured — backfill the affected tables`,
    { cause, details: { event: u.event } },
  );
}

/**
 * zongji reports an undecodable event with a plain `Error` naming the event type (before the event
 * itself arrives); this gives it its code. Other errors are returned as they are.
 */
export function withUnsupportedCode(err: unknown): unknown {
  const message = err instanceof Error ? err.message : '';
  for (const [name, u] of Object.entries(UNSUPPORTED)) {
    if (message.includes(u.event)) return unsupportedEvent(name, err);
  }
  return err;
}
