import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

/** Shared helpers for bench/ scripts: a private database, the real API as a child process, stats. */

export const PG_ADMIN = process.env.KEYSHIFT_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function dbUrl(name: string): string {
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function admin<T>(fn: (c: Client) => Promise<T>, url = PG_ADMIN): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export interface RunningApi {
  base: string;
  token: string;
  process: ChildProcess;
  /** Peak resident set size of the API process so far (VmHWM), in MiB. */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

export async function startApi(database: string, port: number, env: Record<string, string> = {}): Promise<RunningApi> {
  const token = env.KEYSHIFT_ADMIN_TOKEN ?? `bench_${randomBytes(24).toString('base64url')}`;
  const child = spawn(process.execPath, [join(__dirname, '..', 'apps', 'api', 'src', 'main.js')], {
    env: {
      ...process.env,
      DATABASE_URL: dbUrl(database),
      KEYSHIFT_MASTER_KEY: randomBytes(32).toString('base64'),
      KEYSHIFT_ADMIN_TOKEN: token,
      KEYSHIFT_API_PORT: String(port),
      KEYSHIFT_REDIS_PREFIX: `${database}`,
      KEYSHIFT_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      if (i > 120) throw new Error('API did not start');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    base,
    token,
    process: child,
    peakRssMiB: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
    },
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** Starts a compiled app (api, worker or demo-as) as a child process with the given environment. */
export function startProcess(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
  nodeArgs: string[] = [],
): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, join(__dirname, '..', ...script.split('/')), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

/** Runs `task` over `items` with at most `concurrency` in flight. */
export async function pool<T, R>(items: T[], concurrency: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await task(items[i]);
      }
    }),
  );
  return results;
}

/** CPU seconds (user + system) used so far by the processes whose command line matches. */
export function cpuSeconds(match: (cmdline: string) => boolean): number {
  const ticks = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!match(cmdline)) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / ticks;
    } catch {
      // the process ended while we looked
    }
  }
  return total;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const fmt = (n: number, digits = 1) => n.toFixed(digits);
