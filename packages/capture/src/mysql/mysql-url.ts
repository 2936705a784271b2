import type { ConnectionOptions } from 'mysql2';
import { SluiceError } from '@sluice/core';

/**
 * Connection options for a `mysql://user:pass@host:port/db` URL, with the settings every sluice
 * connection to the source needs.
 *
 * - `dateStrings: true`: zongji (and mysql2) otherwise build JS `Date`s, truncating microseconds.
 * - `timezone: 'Z'`: TIMESTAMP values (epoch seconds in the binlog) are rendered in UTC rather than in
 *   the capturer's local zone, so the same row decodes identically on every machine.
 * - `supportBigNumbers`/`bigNumberStrings`: query results (preflight, lookups) keep 64-bit integers exact.
 *
 * @throws SluiceError `SLUICE_CONFIG_INVALID` when the URL does not parse or is not `mysql:`/`mariadb:`.
 */
export function mysqlOptions(url: string, extra: ConnectionOptions = {}): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw new SluiceError('SLUICE_CONFIG_INVALID', `source url is not a URL: ${redactUrl(url)}`, { cause });
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID',
      `source url must start with mysql:// (got ${u.protocol}//)`,
    );
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port === '' ? 3306 : Number(u.port),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    ...(database === '' ? {} : { database }),
    dateStrings: true,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    connectTimeout: 10_000,
    ...extra,
  };
}

/** The URL with its password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
