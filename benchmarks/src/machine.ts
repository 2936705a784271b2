import { execFile } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function version(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(cmd, args);
    return (stdout || stderr).trim().split('\n')[0] ?? 'unknown';
  } catch {
    return 'not found';
  }
}

/** The machine a run was measured on, for the report. */
export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly natsServer: string;
  readonly mariadb: string;
  readonly redis: string;
}

export async function describeMachine(): Promise<Machine> {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    natsServer: await version('nats-server', ['--version']),
    mariadb: await version('mariadbd', ['--version']),
    redis: await version('redis-server', ['--version']),
  };
}
