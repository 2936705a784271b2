import { describe, expect, it } from 'vitest';
import { parseGrants } from './grants.js';
import { evaluateMysql, type MysqlFacts } from './preflight.js';
import {
  accountOf,
  checkSelect,
  excessPrivileges,
  grantSelectStatements,
  revokeStatements,
} from './privileges.js';

const MARIADB = ['REPLICATION SLAVE', 'BINLOG MONITOR'];
const grants = (...lines: string[]) => parseGrants(lines);

describe('checkSelect', () => {
  it('finds SELECT on the schemas and tables include names, through db patterns too', () => {
    const g = grants(
      'GRANT SELECT ON `shop`.* TO `u`@`%`',
      'GRANT SELECT ON `crm\\_%`.* TO `u`@`%`',
      'GRANT SELECT ON `hr`.`people` TO `u`@`%`',
    );
    expect(checkSelect(g, ['shop', 'crm_eu.accounts', 'hr.people'])).toEqual({ missing: [] });
    expect(checkSelect(g, ['crmxeu', 'hr', 'hr.salaries', 'billing.*'])).toEqual({
      missing: ['`crmxeu`.*', '`hr`.*', '`hr`.`salaries`', '`billing`.*'],
    });
  });

  it('accepts a global SELECT for anything, and ALL PRIVILEGES as SELECT', () => {
    expect(checkSelect(grants('GRANT SELECT ON *.* TO `u`@`%`'), ['shop', 'x*'])).toEqual({ missing: [] });
    expect(checkSelect(grants('GRANT ALL PRIVILEGES ON `shop`.* TO `u`@`%`'), ['shop'])).toEqual({
      missing: [],
    });
  });

  it('only warns where it cannot tell: an empty include list, schema wildcards', () => {
    const g = grants('GRANT SELECT ON `shop`.* TO `u`@`%`');
    expect(checkSelect(g, [])).toEqual({
      missing: [],
      warning: expect.stringContaining('every schema is captured, but SELECT is granted only on `shop`.*'),
    });
    expect(checkSelect(g, ['shop', 'crm_*'])).toEqual({
      missing: [],
      warning: expect.stringContaining('cannot be checked for crm_*'),
    });
  });
});

describe('excessPrivileges', () => {
  it('finds nothing beyond the replication privileges and SELECT', () => {
    const g = grants('GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `u`@`%`');
    expect(excessPrivileges(g, MARIADB, [])).toEqual([]);
  });

  it('lists ALL PRIVILEGES, SUPER, write grants and GRANT OPTION, per object', () => {
    const g = grants(
      'GRANT ALL PRIVILEGES ON *.* TO `u`@`%` WITH GRANT OPTION',
      'GRANT SELECT, INSERT, UPDATE ON `shop`.* TO `u`@`%`',
    );
    expect(excessPrivileges(g, MARIADB, [])).toEqual([
      { object: '*.*', privileges: ['ALL PRIVILEGES'], grantOption: true },
      { object: '`shop`.*', privileges: ['INSERT', 'UPDATE'], grantOption: false },
    ]);
    const super_ = grants('GRANT SUPER, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `u`@`%`');
    expect(excessPrivileges(super_, ['REPLICATION SLAVE', 'REPLICATION CLIENT'], [])).toEqual([
      { object: '*.*', privileges: ['SUPER'], grantOption: false },
    ]);
  });

  it('counts a global SELECT as excess once include names the schemas', () => {
    const g = grants('GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `u`@`%`');
    expect(excessPrivileges(g, MARIADB, ['shop'])).toEqual([
      { object: '*.*', privileges: ['SELECT'], grantOption: false },
    ]);
    expect(excessPrivileges(g, MARIADB, ['shop_*'])).toEqual([]);
  });
});

describe('statements', () => {
  it('quotes the account as GRANT and REVOKE need it', () => {
    expect(accountOf('sluice@%')).toBe("'sluice'@'%'");
    expect(accountOf("o'brien@10.0.0.%")).toBe("'o\\'brien'@'10.0.0.%'");
    expect(grantSelectStatements(['`shop`.*'], "'u'@'%'")).toEqual(["GRANT SELECT ON `shop`.* TO 'u'@'%';"]);
  });

  it('revokes the excess and grants back what revoking ALL PRIVILEGES takes', () => {
    const excess = [
      { object: '*.*', privileges: ['ALL PRIVILEGES'], grantOption: true },
      { object: '`shop`.*', privileges: ['INSERT'], grantOption: false },
    ];
    expect(revokeStatements(excess, [...MARIADB, 'SELECT'], "'u'@'%'")).toEqual([
      "REVOKE ALL PRIVILEGES ON *.* FROM 'u'@'%';",
      "REVOKE GRANT OPTION ON *.* FROM 'u'@'%';",
      "GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT ON *.* TO 'u'@'%';",
      "REVOKE INSERT ON `shop`.* FROM 'u'@'%';",
    ]);
  });
});

describe('evaluateMysql: privileges', () => {
  const base: MysqlFacts = {
    version: '10.11.19-MariaDB',
    account: 'cdc@%',
    variables: { log_bin: 'ON', binlog_format: 'ROW', binlog_row_image: 'FULL', binlog_row_metadata: 'FULL' },
    grants: [
      'GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `cdc`@`%`',
      'GRANT SELECT ON `shop`.* TO `cdc`@`%`',
    ],
  };
  const named = (facts: MysqlFacts, include: string[], name: string) =>
    evaluateMysql(facts, { include }).find((c) => c.name === name)!;

  it('passes the least-privilege user without warnings', () => {
    const checks = evaluateMysql(base, { include: ['shop'] });
    expect(checks.every((c) => c.ok && c.warning === undefined && c.fix === '')).toBe(true);
  });

  it('fails SELECT missing on an included schema, with the GRANT for each', () => {
    expect(named(base, ['shop', 'crm'], 'SELECT on captured schemas')).toMatchObject({
      ok: false,
      code: 'SLUICE_MYSQL_PRIVILEGES',
      actual: 'missing on `crm`.*',
      fix: "GRANT SELECT ON `crm`.* TO 'cdc'@'%';",
    });
  });

  it('warns, without failing, about privileges beyond capture, with the REVOKE', () => {
    const over = { ...base, grants: [...base.grants, 'GRANT SUPER, PROCESS ON *.* TO `cdc`@`%`'] };
    const check = named(over, ['shop'], 'privileges beyond capture');
    expect(check).toMatchObject({ ok: true, warning: 'more than capture needs: SUPER, PROCESS ON *.*' });
    expect(check.fix).toBe("REVOKE SUPER, PROCESS ON *.* FROM 'cdc'@'%';");
  });

  it('refuses MySQL 8 transaction compression and partial JSON updates', () => {
    const mysql: MysqlFacts = {
      ...base,
      version: '8.0.36',
      grants: [
        'GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `cdc`@`%`',
        'GRANT SELECT ON `shop`.* TO `cdc`@`%`',
      ],
      variables: {
        ...base.variables,
        binlog_transaction_compression: 'ON',
        binlog_row_value_options: 'PARTIAL_JSON',
      },
    };
    const failed = evaluateMysql(mysql, { include: ['shop'] }).filter((c) => !c.ok);
    expect(failed.map((c) => [c.name, c.code])).toEqual([
      ['binlog_transaction_compression', 'SLUICE_BINLOG_UNSUPPORTED'],
      ['binlog_row_value_options', 'SLUICE_BINLOG_UNSUPPORTED'],
    ]);
    expect(failed[0]!.fix).toContain('SET GLOBAL binlog_transaction_compression = OFF');
  });
});
