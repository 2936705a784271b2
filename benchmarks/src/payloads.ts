/**
 * The payloads every loop uses, so that phases compare like with like: a ~500 B CDC event (what
 * capture stores per row of the bench table) and a ~1 KB POST body (a CloudEvent with a larger row).
 */

/** The bench table; every phase that touches MySQL writes rows of this shape. */
export const BENCH_TABLE_SQL =
  "CREATE TABLE bench.orders (id BIGINT PRIMARY KEY, customer INT, status VARCHAR(16), total DECIMAL(12,2), created DATETIME(6), note VARCHAR(200), flags SET('a','b','c'))";

/** One multi-row INSERT of rows `first … first+count-1`. */
export function insertSql(first: number, count: number): string {
  const rows: string[] = [];
  for (let id = first; id < first + count; id++) {
    rows.push(
      `(${id}, ${id % 977}, 'paid', ${(id * 7) % 100000}.25, NOW(6), 'a note of some length for the row, to look like real data', 'a,c')`,
    );
  }
  return `INSERT INTO bench.orders VALUES ${rows.join(',')}`;
}

function cloudEvent(id: number, padTo: number): Buffer {
  const base = {
    specversion: '1.0',
    id: `evt_${id.toString(16).padStart(32, '0')}`,
    source: '/sluice/mysql/bench',
    type: 'mysql.bench.orders.insert',
    subject: String(id),
    time: '2026-11-26T12:00:00.000Z',
    datacontenttype: 'application/json',
    data: {
      op: 'insert',
      database: 'bench',
      table: 'orders',
      before: null,
      after: {
        id: String(id),
        customer: id % 977,
        status: 'paid',
        total: '1234.25',
        created: '2026-11-26 12:00:00.123456',
        note: '',
        flags: ['a', 'c'],
      },
      changed: ['id', 'customer', 'status', 'total', 'created', 'note', 'flags'],
      primaryKey: ['id'],
    },
  };
  const bare = JSON.stringify(base).length;
  base.data.after.note = 'x'.repeat(Math.max(0, padTo - bare));
  return Buffer.from(JSON.stringify(base));
}

/** A ~500 B CDC event (the JetStream loops' message). */
export function cdcEvent500(id: number): Buffer {
  return cloudEvent(id, 500);
}

/** A ~1 KB POST body (the HTTP loops' request body and the deliverer's prefilled deliveries). */
export function postBody1k(id: number): Buffer {
  return cloudEvent(id, 1024);
}
