/**
 * `npm start`: runs Keyshift on this machine with one command. Creates the database if needed,
 * keeps a generated master key and admin token in .keyshift/dev.env (git-ignored) so data stays
 * readable across restarts, then starts the API (which applies migrations) and the worker.
 *
 * This is a developer launcher, not part of the product: it sets the environment for the two
 * processes it starts, which then validate it like any other deployment.
 */
import { spawn, ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

const root = join(__dirname, '..', '..');
const envFile = join(root, '.keyshift', 'dev.env');

function devEnv(): Record<string, string> {
  if (!existsSync(envFile)) {
    mkdirSync(join(root, '.keyshift'), { recursive: true });
    writeFileSync(
      envFile,
      `KEYSHIFT_MASTER_KEY=${randomBytes(32).toString('base64')}\nKEYSHIFT_ADMIN_TOKEN=ks_dev_${randomBytes(24).toString('base64url')}\n`,
      { mode: 0o600 },
    );
  }
  return Object.fromEntries(
    readFileSync(envFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = target.pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

function start(name: string, script: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [join(root, 'dist', script)], { env, stdio: 'inherit' });
  child.on('exit', (code) => {
    if (code) {
      process.stderr.write(`${name} exited with code ${code}\n`);
      process.exit(code);
    }
  });
  return child;
}

async function waitForHealth(url: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the API did not become healthy at ${url}`);
}

async function main(): Promise<void> {
  const env = {
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/keyshift',
    KEYSHIFT_OUTBOUND_ALLOWLIST: '127.0.0.1,localhost',
    ...devEnv(),
    ...process.env,
  } as NodeJS.ProcessEnv;
  await ensureDatabase(env.DATABASE_URL!);
  const api = start('API', 'apps/api/src/main.js', env);
  const base = `http://${env.KEYSHIFT_API_HOST ?? '127.0.0.1'}:${env.KEYSHIFT_API_PORT ?? '3000'}`;
  await waitForHealth(base);
  const worker = start('worker', 'apps/worker/src/main.js', env);
  process.stdout.write(
    // The admin token stays in the file: secrets are not printed, even a generated dev one.
    `\nKeyshift is running.\n  API:      ${base}\n  OpenAPI:  ${base}/docs\n` +
      `  Token:    export $(grep ADMIN_TOKEN .keyshift/dev.env)\n` +
      `  Try:      curl -H "Authorization: Bearer $KEYSHIFT_ADMIN_TOKEN" ${base}/v1/clients\n\n`,
  );
  const stop = () => {
    worker.kill('SIGTERM');
    api.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
