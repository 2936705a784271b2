import { describe, expect, it } from 'vitest';
import { evaluateMysql, type MysqlFacts } from './preflight.js';

const good: MysqlFacts = {
  version: '10.11.19-MariaDB-0+deb12u1',
  account: 'sluice@%',
  variables: { log_bin: 'ON', binlog_format: 'ROW', binlog_row_image: 'FULL', binlog_row_metadata: 'FULL' },
  grants: ['GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `sluice`@`%`'],
};

describe('evaluateMysql', () => {
  it('passes a correctly configured server', () => {
    expect(evaluateMysql(good).every((c) => c.ok && c.fix === '')).toBe(true);
  });

  it('flags binary logging off with a my.cnf fix', () => {
    const [logBin] = evaluateMysql({ ...good, variables: { ...good.variables, log_bin: 'OFF' } });
    expect(logBin).toMatchObject({ ok: false, code: 'SLUICE_BINLOG_DISABLED', actual: 'OFF' });
    expect(logBin!.fix).toMatch(/log_bin/);
  });

  it('asks for an upgrade when the server has no binlog_row_metadata', () => {
    const { binlog_row_metadata: _, ...older } = good.variables;
    const check = evaluateMysql({ ...good, version: '5.7.44-log', variables: older }).find(
      (c) => c.name === 'binlog_row_metadata',
    );
    expect(check).toMatchObject({
      ok: false,
      code: 'SLUICE_BINLOG_ROW_METADATA',
      actual: '(not supported by this server)',
    });
    expect(check!.fix).toMatch(/upgrade/);
  });

  it('wants REPLICATION CLIENT on MySQL', () => {
    const mysql = {
      ...good,
      version: '8.0.36',
      grants: ['GRANT REPLICATION SLAVE ON *.* TO `cdc`@`%`'],
      account: 'cdc@%',
    };
    const check = evaluateMysql(mysql).find((c) => !c.ok);
    expect(check).toMatchObject({
      code: 'SLUICE_MYSQL_PRIVILEGES',
      fix: "GRANT REPLICATION CLIENT ON *.* TO 'cdc'@'%';",
    });
  });

  it('compares variable values case-insensitively', () => {
    expect(evaluateMysql({ ...good, variables: { ...good.variables, binlog_format: 'row' } })[1]!.ok).toBe(
      true,
    );
  });
});
