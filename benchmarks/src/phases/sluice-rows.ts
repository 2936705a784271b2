import { createPool, type Pool } from 'mysql2/promise';
import { insertSql } from '../payloads.js';

/** Rows per multi-row INSERT (one transaction) of the bulk workload. */
export const ROWS_PER_INSERT = 1000;

/** A small mysql2 pool as root on the bench database server. */
export function rootPool(rootUrl: string, connections = 4): Pool {
  return createPool({ uri: rootUrl, connectionLimit: connections, multipleStatements: false });
}

/**
 * Inserts rows `first … first+count-1` of bench.orders as multi-row INSERTs of
 * {@link ROWS_PER_INSERT} rows, `parallel` at a time (ids stay unique; order across connections is
 * whatever the server commits).
 */
export async function insertRows(pool: Pool, first: number, count: number, parallel = 4): Promise<void> {
  let next = first;
  const end = first + count;
  const worker = async (): Promise<void> => {
    while (next < end) {
      const from = next;
      const n = Math.min(ROWS_PER_INSERT, end - from);
      next += n;
      await pool.query(insertSql(from, n));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}
