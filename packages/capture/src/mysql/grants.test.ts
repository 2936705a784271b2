import { describe, expect, it } from 'vitest';
import {
  globalPrivileges,
  holds,
  missingPrivileges,
  parseGrants,
  requiredReplicationPrivileges,
  versionNumber,
} from './grants.js';

describe('globalPrivileges', () => {
  it('reads the privileges of ON *.* grants only', () => {
    const held = globalPrivileges([
      "GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `sluice`@`%` IDENTIFIED BY PASSWORD '*3A22'",
      'GRANT INSERT, UPDATE ON `shop`.* TO `sluice`@`%`',
      'GRANT SELECT (a, b), INSERT ON `shop`.`t` TO `sluice`@`%`',
      'GRANT `reader` TO `sluice`@`%`',
    ]);
    expect([...held].sort()).toEqual(['BINLOG MONITOR', 'REPLICATION SLAVE', 'SELECT']);
  });

  it('normalises case and spacing', () => {
    expect([...globalPrivileges(['grant  replication   client on *.* to x@y'])]).toEqual([
      'REPLICATION CLIENT',
    ]);
  });
});

describe('parseGrants', () => {
  it('reads the object of every grant, unquoting names and keeping wildcards', () => {
    expect(
      parseGrants([
        'GRANT USAGE ON *.* TO `sluice`@`%`',
        'GRANT SELECT, INSERT ON `shop`.* TO `sluice`@`%`',
        'GRANT SELECT ON `we``ird`.`ord.ers` TO `sluice`@`%` WITH GRANT OPTION',
        'GRANT SELECT ON `shop\\_%`.* TO `sluice`@`%`',
        'GRANT SELECT ON plain.t TO sluice@localhost',
        "GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION",
        'GRANT EXECUTE ON PROCEDURE `shop`.`p` TO `sluice`@`%`',
        'GRANT `reader`@`%` TO `sluice`@`%`',
      ]),
    ).toEqual([
      { privileges: ['USAGE'], database: '*', table: '*', grantOption: false },
      { privileges: ['SELECT', 'INSERT'], database: 'shop', table: '*', grantOption: false },
      { privileges: ['SELECT'], database: 'we`ird', table: 'ord.ers', grantOption: true },
      { privileges: ['SELECT'], database: 'shop\\_%', table: '*', grantOption: false },
      { privileges: ['SELECT'], database: 'plain', table: 't', grantOption: false },
    ]);
  });

  it('spells ALL as ALL PRIVILEGES, which holds everything', () => {
    const [g] = parseGrants(['GRANT ALL ON `shop`.* TO `x`@`%`']);
    expect(g!.privileges).toEqual(['ALL PRIVILEGES']);
    expect(holds(g!.privileges, 'SELECT')).toBe(true);
  });
});

describe('missingPrivileges', () => {
  const maria = requiredReplicationPrivileges(true, '10.11.19-MariaDB');
  const mysql = requiredReplicationPrivileges(false, '8.0.36');

  it('asks MariaDB >= 10.5 for BINLOG MONITOR and MySQL for REPLICATION CLIENT', () => {
    expect(maria).toEqual(['REPLICATION SLAVE', 'BINLOG MONITOR']);
    expect(mysql).toEqual(['REPLICATION SLAVE', 'REPLICATION CLIENT']);
    expect(requiredReplicationPrivileges(true, '10.4.30-MariaDB')).toEqual([
      'REPLICATION SLAVE',
      'REPLICATION CLIENT',
    ]);
  });

  it('accepts ALL PRIVILEGES on *.*', () => {
    const held = globalPrivileges(['GRANT ALL PRIVILEGES ON *.* TO `root`@`127.0.0.1` WITH GRANT OPTION']);
    expect(missingPrivileges(held, maria)).toEqual([]);
  });

  it('lists what is missing, accepting the new REPLICATION REPLICA name', () => {
    expect(missingPrivileges(new Set(['SELECT']), maria)).toEqual(['REPLICATION SLAVE', 'BINLOG MONITOR']);
    expect(missingPrivileges(new Set(['REPLICATION REPLICA', 'REPLICATION CLIENT']), mysql)).toEqual([]);
  });

  it('compares versions numerically', () => {
    expect(versionNumber('10.11.19-MariaDB-0+deb12u1')).toBe(101119);
    expect(versionNumber('8.0.36')).toBeLessThan(versionNumber('10.5.0'));
  });
});
