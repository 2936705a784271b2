import { connect as tcpConnect, createServer } from 'node:net';
import type { Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createConnection } from 'mysql2/promise';
import { startNatsServer } from '../src/nats-server.js';
import { startMariadb } from '../src/mariadb.js';
import { freePort } from '../src/free-port.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-embedded-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Reads the first line a server sends on a fresh TCP connection. */
async function firstLine(port: number): Promise<string> {
  const socket = tcpConnect(port, '127.0.0.1');
  try {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    return chunk.toString('utf8').split('\r\n')[0] ?? '';
  } finally {
    socket.destroy();
  }
}

describe('startNatsServer', () => {
  it('starts JetStream on a free port, stops, and keeps streams across a restart', async () => {
    const dataDir = join(dir, 'nats');
    const first = await startNatsServer({ dataDir });
    let port: number;
    try {
      port = first.port;
      expect(first.url).toBe(`nats://127.0.0.1:${port}`);
      expect(port).not.toBe(4222);
      expect(await firstLine(port)).toMatch(/^INFO \{.*"jetstream":true/);

      const nc = await connect({ servers: first.url });
      try {
        const jsm = await jetstreamManager(nc);
        expect((await jsm.getAccountInfo()).streams).toBe(0);
        await jsm.streams.add({ name: 'kept', subjects: ['kept.>'] });
      } finally {
        await nc.close();
      }
    } finally {
      await first.stop();
    }
    expect(isAlive(first.pid)).toBe(false);
    await first.stop(); // idempotent

    await using second = await startNatsServer({ dataDir, port });
    expect(second.pid).not.toBe(first.pid);
    const nc = await connect({ servers: second.url });
    try {
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info('kept')).config.subjects).toEqual(['kept.>']);
    } finally {
      await nc.close();
    }
  });

  it('reports a missing binary with SLUICE_EMBEDDED_BINARY_MISSING naming the package', async () => {
    const err = await startNatsServer({ dataDir: dir, binary: join(dir, 'no-such-nats-server') }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'SluiceError', code: 'SLUICE_EMBEDDED_BINARY_MISSING' });
    expect((err as Error).message).toContain('apt-get install nats-server');
  });

  it('reports a taken port with SLUICE_EMBEDDED_START_FAILED and the log tail', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = blocker.address() as { port: number };
      const err = await startNatsServer({ dataDir: dir, port, readyTimeoutMs: 5_000 }).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'SLUICE_EMBEDDED_START_FAILED' });
      expect((err as Error).message).toMatch(/address already in use/i);
    } finally {
      blocker.close();
    }
  });
});

describe('startMariadb', () => {
  const initSql = [
    'CREATE DATABASE shop',
    'CREATE TABLE shop.orders (id INT PRIMARY KEY AUTO_INCREMENT, total DECIMAL(10,2) NOT NULL)',
    'INSERT INTO shop.orders (total) VALUES (12.50)',
  ];

  it('serves the capture user with ROW/FULL/FULL binlog and keeps data and users across a restart', async () => {
    const dataDir = join(dir, 'mariadb');
    const first = await startMariadb({ dataDir, serverId: 7, initSql });
    try {
      expect(first.port).not.toBe(3306);
      expect(first.rootUrl).toMatch(/^mysql:\/\/root:[0-9a-f]+@127\.0\.0\.1:\d+$/);
      const capture = await createConnection(first.captureUrl);
      try {
        const [status] = await capture.query('SHOW MASTER STATUS');
        expect(status).toEqual([expect.objectContaining({ File: expect.stringMatching(/^bin\.\d+$/) })]);
        const [vars] = await capture.query(
          'SELECT @@binlog_format AS f, @@binlog_row_image AS i, @@binlog_row_metadata AS m, @@server_id AS s',
        );
        expect(vars).toEqual([{ f: 'ROW', i: 'FULL', m: 'FULL', s: 7 }]);
        const [rows] = await capture.query('SELECT total FROM shop.orders');
        expect(rows).toEqual([{ total: '12.50' }]);
        await expect(capture.query('CREATE DATABASE nope')).rejects.toMatchObject({ errno: 1044 });
        await expect(capture.query('INSERT INTO shop.orders (total) VALUES (1)')).rejects.toMatchObject({
          errno: 1142,
        });
      } finally {
        await capture.end();
      }
      const root = await createConnection(first.rootUrl);
      try {
        await root.query('INSERT INTO shop.orders (total) VALUES (7.25)');
      } finally {
        await root.end();
      }
    } finally {
      await first.stop();
    }
    expect(isAlive(first.pid)).toBe(false);

    await using second = await startMariadb({ dataDir, port: first.port, serverId: 7, initSql });
    expect(second.rootUrl).toBe(first.rootUrl);
    expect(second.captureUrl).toBe(first.captureUrl);
    const capture = await createConnection(second.captureUrl);
    try {
      // initSql ran once: its row is there once, next to the one inserted before the restart.
      const [rows] = await capture.query('SELECT total FROM shop.orders ORDER BY id');
      expect(rows).toEqual([{ total: '12.50' }, { total: '7.25' }]);
    } finally {
      await capture.end();
    }
  });

  it('rejects a TCP root login without the password, with a relative dataDir', async () => {
    await using db = await startMariadb({ dataDir: relative(process.cwd(), join(dir, 'rel')) });
    expect(db.dataDir).toBe(join(dir, 'rel'));
    await expect(createConnection({ host: '127.0.0.1', port: db.port, user: 'root' })).rejects.toMatchObject({
      errno: 1045,
    });
  });

  it('reports a missing binary with SLUICE_EMBEDDED_BINARY_MISSING naming the package', async () => {
    const err = await startMariadb({ dataDir: dir, mariadbdBinary: join(dir, 'no-such-mariadbd') }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'SluiceError', code: 'SLUICE_EMBEDDED_BINARY_MISSING' });
    expect((err as Error).message).toContain('apt-get install mariadb-server');
  });

  it('reports a taken port with SLUICE_EMBEDDED_START_FAILED and the log tail', async () => {
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const err = await startMariadb({ dataDir: dir, port, readyTimeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SLUICE_EMBEDDED_START_FAILED' });
      expect((err as Error).message).toMatch(/Address already in use/);
    } finally {
      blocker.close();
    }
  });
});
