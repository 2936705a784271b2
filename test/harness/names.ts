import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

let counter = 0;

/**
 * A name unique across test files running in parallel and across reruns, e.g. `orders1k3x7f2a`:
 * lowercase letters, digits and `_`, at most 40 characters. Valid unquoted as a NATS subject token, in a
 * stream, consumer or KV bucket name, and as a MySQL schema or table name.
 *
 * @param prefix - Starts with a lowercase letter; lowercase letters, digits, `_`; at most 20 characters.
 */
export function uniqueName(prefix = 't'): string {
  assert.match(prefix, /^[a-z][a-z0-9_]{0,19}$/, `uniqueName prefix ${JSON.stringify(prefix)}`);
  counter += 1;
  return `${prefix}${process.pid.toString(36)}x${counter.toString(36)}${randomBytes(3).toString('hex')}`;
}
