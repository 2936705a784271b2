/**
 * `sluice doctor` on the capture user's privileges: a least-privilege user passes, a missing privilege
 * fails with the GRANT that fixes it (for the server's flavour), and privileges beyond capture's needs
 * are a warning with the REVOKE, not a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  spawnSluice,
  startMysql,
  startNats,
  uniqueName,
  type TestMysql,
  type TestNats,
} from '@sluice/test-harness';
import { startReplayServer } from '../../../test/fixtures/mysql8/replay-server.js';

let nats: TestNats;
let db: TestMysql;
let schema: string;

beforeAll(async () => {
  [nats, db] = await Promise.all([startNats(), startMysql()]);
  schema = uniqueName('shop');
  await db.query(`CREATE DATABASE ${schema}`);
});

afterAll(async () => {
  await db?.[Symbol.asyncDispose]();
  await nats?.[Symbol.asyncDispose]();
});

/** Creates a MariaDB user on 127.0.0.1 (the host a TCP login from the test has) with `grants`. */
async function user(grants: string[]): Promise<{ name: string; url: string }> {
  const name = uniqueName('u');
  await db.query(`CREATE USER '${name}'@'127.0.0.1' IDENTIFIED BY 'pw'`);
  for (const g of grants) await db.query(`GRANT ${g} TO '${name}'@'127.0.0.1'`);
  return { name, url: `mysql://${name}:pw@127.0.0.1:${db.port}` };
}

async function doctor(url: string, include: string[]) {
  await using p = await spawnSluice(['doctor'], {
    config: { nats: { url: nats.url }, sources: [{ id: 'src', url, include }] },
  });
  const code = await p.exited;
  return { code, lines: p.stdout().split('\n'), out: p.stdout() + p.stderr() };
}

describe('sluice doctor: capture user privileges', () => {
  it('passes a MariaDB user with only REPLICATION SLAVE, BINLOG MONITOR and SELECT on the schema', async () => {
    const u = await user(['REPLICATION SLAVE, BINLOG MONITOR ON *.*', `SELECT ON ${schema}.*`]);
    const r = await doctor(u.url, [schema]);
    expect(r.code, r.out).toBe(0);
    expect(
      r.lines.filter((l) => /^[✘⚠]/.test(l)),
      r.out,
    ).toEqual([]);
    expect(r.lines).toContain('✔ source src: replication privileges');
    expect(r.lines).toContain('✔ source src: SELECT on captured schemas');
    expect(r.lines).toContain('✔ source src: privileges beyond capture');
    expect(r.lines).toContain('all checks passed');
  });

  it('fails a user without BINLOG MONITOR and prints the GRANT to run', async () => {
    const u = await user(['REPLICATION SLAVE ON *.*', `SELECT ON ${schema}.*`]);
    const r = await doctor(u.url, [schema]);
    expect(r.code, r.out).toBe(1);
    const i = r.lines.findIndex((l) => l.startsWith('✘ source src: replication privileges'));
    expect(r.lines[i], r.out).toBe(
      '✘ source src: replication privileges is missing BINLOG MONITOR, expected REPLICATION SLAVE, BINLOG MONITOR [SLUICE_MYSQL_PRIVILEGES]',
    );
    expect(r.lines[i + 1]).toBe(`    fix: GRANT BINLOG MONITOR ON *.* TO '${u.name}'@'127.0.0.1';`);
    expect(r.lines.filter((l) => l.startsWith('✘'))).toHaveLength(1);
  });

  it('fails a user without SELECT on an included schema and prints the GRANT', async () => {
    const u = await user(['REPLICATION SLAVE, BINLOG MONITOR ON *.*']);
    const r = await doctor(u.url, [schema]);
    expect(r.code, r.out).toBe(1);
    const i = r.lines.findIndex((l) => l.startsWith('✘ source src: SELECT on captured schemas'));
    expect(r.lines[i], r.out).toContain(`is missing on \`${schema}\`.*`);
    expect(r.lines[i + 1]).toBe(`    fix: GRANT SELECT ON \`${schema}\`.* TO '${u.name}'@'127.0.0.1';`);
  });

  it('warns about, but passes, a user with privileges beyond what capture needs', async () => {
    const u = await user([
      'SUPER, REPLICATION SLAVE, BINLOG MONITOR ON *.*',
      `SELECT, INSERT, DELETE ON ${schema}.*`,
    ]);
    const r = await doctor(u.url, [schema]);
    expect(r.code, r.out).toBe(0);
    const i = r.lines.findIndex((l) => l.startsWith('⚠ source src: privileges beyond capture'));
    expect(r.lines[i], r.out).toBe(
      `⚠ source src: privileges beyond capture: more than capture needs: SUPER ON *.*; INSERT, DELETE ON \`${schema}\`.* [SLUICE_MYSQL_PRIVILEGES]`,
    );
    expect(r.lines[i + 1]).toBe(`    fix: REVOKE SUPER ON *.* FROM '${u.name}'@'127.0.0.1';`);
    expect(r.lines[i + 2]).toBe(
      `         REVOKE INSERT, DELETE ON \`${schema}\`.* FROM '${u.name}'@'127.0.0.1';`,
    );
    expect(r.lines).toContain('all checks passed (1 warning(s))');
  });

  it('asks MySQL 8 for REPLICATION CLIENT and refuses transaction compression', async () => {
    await using mysql8 = await startReplayServer({
      files: [],
      serverId: 1,
      variables: { binlog_transaction_compression: 'ON' },
      accounts: {
        cdc: {
          grants: ['GRANT REPLICATION SLAVE ON *.* TO `cdc`@`%`', 'GRANT SELECT ON `shop`.* TO `cdc`@`%`'],
        },
      },
    });
    const r = await doctor(mysql8.url('cdc'), ['shop']);
    expect(r.code, r.out).toBe(1);
    const failed = r.lines.filter((l) => l.startsWith('✘'));
    expect(failed, r.out).toEqual([
      '✘ source src: replication privileges is missing REPLICATION CLIENT, expected REPLICATION SLAVE, REPLICATION CLIENT [SLUICE_MYSQL_PRIVILEGES]',
      '✘ source src: binlog_transaction_compression is ON, expected OFF [SLUICE_BINLOG_UNSUPPORTED]',
    ]);
    expect(r.out).toContain("    fix: GRANT REPLICATION CLIENT ON *.* TO 'cdc'@'%';");
    expect(r.out).toContain('    fix: SET GLOBAL binlog_transaction_compression = OFF;');
  });
});
