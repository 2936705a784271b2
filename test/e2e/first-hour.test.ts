import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  makeTempDir,
  removeTempDir,
  spawnSluice,
  strictLogLines,
  type SluiceProcess,
} from '@sluice/test-harness';

/**
 * A newcomer's first hour, as README tells it: `sluice up` with no configuration, then sluice's own
 * commands from the same folder with no flags — readiness, inserts through `sluice db`, the admin
 * commands, doctor — then rows written while sluice is stopped, which arrive once after the next start.
 */
describe('the first hour: sluice up and the commands of its folder', () => {
  let dir: string;
  // JSON logs, so that every line can be held to strict JSON; everything else as the quick start.
  const env = { SLUICE_LOGGING_PRETTY: 'false' };

  beforeAll(async () => {
    dir = await makeTempDir('sluice-first-hour');
  });
  afterAll(async () => {
    await removeTempDir(dir);
  });

  /** Runs `sluice <args>` in the folder to completion. */
  async function sluice(...args: string[]) {
    await using p = await spawnSluice(args, { cwd: dir, env });
    const code = await p.exited;
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  }

  async function up(): Promise<SluiceProcess> {
    const p = await spawnSluice(['up'], { cwd: dir, env });
    await p.waitForOutput('Stop with Ctrl-C', 90_000);
    return p;
  }

  test('readiness, sluice db, the admin commands and doctor need no flags in the folder', async () => {
    await using first = await up();
    const natsUrl = /NATS\s+(nats:\/\/\S+)/.exec(first.stdout())?.[1];
    expect(natsUrl).toBeDefined();

    const ready = await sluice('status', '--wait', 'ready', '--timeout', '60s');
    expect(ready, ready.stderr).toMatchObject({ code: 0 });
    expect(ready.stderr).toContain('using the embedded servers of ./.sluice');
    expect(ready.stdout).toMatch(/source shop\s+ready: capturing from /);
    await first.waitForOutput(/"msg":"ready: capturing from /, 10_000);

    const insert = await sluice('db', '-e', "INSERT INTO orders (customer, total) VALUES ('ada', 42.50)");
    expect(insert, insert.stderr).toMatchObject({ code: 0 });
    await first.waitForOutput(/verified mysql\.shop\.orders\.insert/, 30_000);

    const endpoints = await sluice('endpoints');
    expect(endpoints, endpoints.stderr).toMatchObject({ code: 0 });
    expect(endpoints.stderr).toContain('using the embedded servers of ./.sluice');
    expect(endpoints.stdout).toMatch(/^demo\s/m);

    const attempts = await sluice('attempts', 'demo', '--json');
    expect(attempts, attempts.stderr).toMatchObject({ code: 0 });
    expect(JSON.stringify(JSON.parse(attempts.stdout))).toContain('"delivered"');

    const dlq = await sluice('dlq', 'ls');
    expect(dlq, dlq.stderr).toMatchObject({ code: 0 });

    // The quick start's own capture user holds only what capture needs: no warning about it.
    const doctor = await sluice('doctor');
    expect(doctor, doctor.stdout + doctor.stderr).toMatchObject({ code: 0 });
    expect(doctor.stdout).toContain('all checks passed');
    expect(doctor.stdout).not.toContain('⚠');
    expect(doctor.stdout).toContain('binlog_format');

    expect(await first.stop()).toBe(0);
    // Every log line a sluice up run printed is strict JSON: no repeated key, no line that is not JSON.
    const lines = strictLogLines(first.stderr());
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      expect(line.msg, JSON.stringify(line)).toEqual(expect.stringMatching(/\S/));
      if (line.msg === 'progress') expect(line.component, JSON.stringify(line)).toEqual(expect.any(String));
    }

    // Stopped: the admin commands say so, with a code.
    const stopped = await sluice('endpoints');
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('SLUICE_NOT_RUNNING');

    // Rows written while sluice is stopped, the sanctioned way, arrive once at the next start.
    const offline = await sluice('db', '-e', "INSERT INTO orders (customer, total) VALUES ('bob', 7.00)");
    expect(offline, offline.stderr).toMatchObject({ code: 0 });
    expect(offline.stderr).toContain('starting the embedded mariadbd');

    await using second = await up();
    expect(second.stdout()).toContain(`NATS      ${natsUrl}`);
    await second.waitForOutput(/"customer":"bob"/, 30_000);
    const status = await sluice('status', '--wait', 'ready', '--timeout', '60s');
    expect(status.code).toBe(0);
    // Delivered once, and the row of the first run is not delivered again.
    expect(second.stdout().match(/"customer":"bob"/g)).toHaveLength(1);
    expect(second.stdout()).not.toContain('"customer":"ada"');
    expect(await second.stop()).toBe(0);
    expect(strictLogLines(second.stderr()).length).toBeGreaterThan(5);
  });

  test('a script waits for ready before sluice up has even started, then inserts at once', async () => {
    const folder = await makeTempDir('sluice-script');
    try {
      await using wait = await spawnSluice(['status', '--wait', 'ready', '--timeout', '120s'], {
        cwd: folder,
        env,
      });
      await using sluiceUp = await spawnSluice(['up'], { cwd: folder, env });
      expect(await wait.exited, wait.stdout() + wait.stderr()).toBe(0);
      expect(wait.stdout()).toMatch(/^ready$/m);
      await using insert = await spawnSluice(
        ['db', '-e', "INSERT INTO orders (customer, total) VALUES ('eve', 1.00)"],
        { cwd: folder, env },
      );
      expect(await insert.exited, insert.stderr()).toBe(0);
      await sluiceUp.waitForOutput(/"customer":"eve"/, 30_000);
      expect(await sluiceUp.stop()).toBe(0);
    } finally {
      await removeTempDir(folder);
    }
  });

  test('doctor with no configuration and nothing running checks the servers sluice up would start', async () => {
    const empty = await makeTempDir('sluice-doctor');
    try {
      await using p = await spawnSluice(['doctor'], { cwd: empty, env });
      const code = await p.exited;
      expect(code, p.stdout() + p.stderr()).toBe(0);
      expect(p.stdout()).toContain('throwaway directory');
      expect(p.stdout()).toMatch(/✔ NATS reachable/);
      expect(p.stdout()).toMatch(/✔ source shop: binlog_format/);
      expect(p.stdout()).not.toContain('⚠');
    } finally {
      await removeTempDir(empty);
    }
  });
});
