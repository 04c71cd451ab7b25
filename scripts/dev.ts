/**
 * `npm start`: the live demo. Starts an embedded node-oidc-provider, the API (which applies
 * migrations) and the worker; seeds a demo estate at that server and in Keyshift; runs a campaign
 * to completion, printing progress; then keeps everything running for you to explore.
 * KEYSHIFT_DEMO=false starts only the API and the worker, on DATABASE_URL, with no demo.
 *
 * Keeps a generated master key and admin token in .keyshift/dev.env (git-ignored). The demo's
 * database (keyshift_demo) and Redis prefix (keyshift-demo) are recreated on every start, since
 * the embedded server forgets its clients when it stops.
 *
 * This is a developer launcher, not part of the product: it sets the environment for the
 * processes it starts, which then validate it like any other deployment.
 */
import { spawn, ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { demoShapes, keyshiftApi, seedEstate, watchCampaign } from './demo-estate';

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

async function recreateDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

async function clearRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** The embedded authorization server, as its own process; resolves with its issuer. */
async function startDemoAs(port: number): Promise<{ issuer: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(root, 'dist', 'apps/demo-as/src/main.js'), '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const issuer = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) =>
      resolve((JSON.parse(d.toString().split('\n')[0]) as { issuer: string }).issuer),
    );
    child.once('exit', (code) => reject(new Error(`the demo authorization server exited with ${code}`)));
  });
  return { issuer, child };
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

/**
 * The runtime's login role (DATABASE_URL's user), a member of keyshift_runtime, to which the
 * migrations grant what the runtime may do. Both are created here before the API connects with it.
 * Local trust authentication: no password.
 */
async function ensureRuntimeRole(ownerUrl: string, runtimeUrl: string): Promise<void> {
  const login = decodeURIComponent(new URL(runtimeUrl).username);
  if (!login || login === decodeURIComponent(new URL(ownerUrl).username)) return;
  const admin = new URL(ownerUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const role = `"${login.replace(/"/g, '""')}"`;
    const exists = async (name: string) =>
      (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 1;
    if (!(await exists('keyshift_runtime'))) await client.query('CREATE ROLE keyshift_runtime NOLOGIN');
    if (!(await exists(login))) await client.query(`CREATE ROLE ${role} LOGIN`);
    await client.query(`GRANT keyshift_runtime TO ${role}`);
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
  const demo = process.env.KEYSHIFT_DEMO !== 'false';
  const asPort = Number(process.env.KEYSHIFT_DEMO_AS_PORT ?? 4000);
  const apiPort = process.env.KEYSHIFT_API_PORT ?? '3000';
  const database = demo ? 'keyshift_demo' : 'keyshift';
  const env = {
    // The owner (the local superuser) applies migrations; the API and worker run as keyshift_app, a
    // member of keyshift_runtime: no DDL, the audit log insert-only (see README, "Database roles").
    KEYSHIFT_MIGRATION_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
    DATABASE_URL: `postgres://keyshift_app@127.0.0.1:5432/${database}`,
    // Exact host:port entries: Keyshift's own JWKS (the key-registration check fetches it back) and
    // the demo authorization server. Nothing else on this host (Redis, PostgreSQL) is reachable.
    KEYSHIFT_OUTBOUND_ALLOWLIST: demo ? `127.0.0.1:${apiPort},127.0.0.1:${asPort}` : `127.0.0.1:${apiPort}`,
    ...(demo ? DEMO_TIMERS : {}),
    ...devEnv(),
    ...process.env,
  } as NodeJS.ProcessEnv;
  const children: ChildProcess[] = [];
  // Your own DATABASE_URL without an owner's URL: that role migrates too, as before.
  if (process.env.DATABASE_URL && !process.env.KEYSHIFT_MIGRATION_DATABASE_URL) {
    env.KEYSHIFT_MIGRATION_DATABASE_URL = env.DATABASE_URL;
  }
  const ownerUrl = env.KEYSHIFT_MIGRATION_DATABASE_URL!;
  const stop = () => children.forEach((c) => c.kill('SIGTERM'));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  if (demo) {
    env.KEYSHIFT_REDIS_PREFIX ??= 'keyshift-demo';
    await recreateDatabase(ownerUrl);
    await clearRedisPrefix(env.REDIS_URL ?? 'redis://127.0.0.1:6379', env.KEYSHIFT_REDIS_PREFIX);
  } else {
    await ensureDatabase(ownerUrl);
  }
  await ensureRuntimeRole(ownerUrl, env.DATABASE_URL!);
  const as = demo ? await startDemoAs(asPort) : null;
  if (as) children.push(as.child);
  children.push(start('API', 'apps/api/src/main.js', env));
  const base = `http://${env.KEYSHIFT_API_HOST ?? '127.0.0.1'}:${env.KEYSHIFT_API_PORT ?? '3000'}`;
  await waitForHealth(base);
  children.push(start('worker', 'apps/worker/src/main.js', env));
  const banner =
    // The admin token stays in the file: secrets are not printed, even a generated dev one.
    `  API:      ${base}\n  OpenAPI:  ${base}/docs\n` +
    `  Token:    export $(grep ADMIN_TOKEN .keyshift/dev.env)\n` +
    `  Try:      curl -H "Authorization: Bearer $KEYSHIFT_ADMIN_TOKEN" ${base}/v1/clients\n`;
  if (!as) {
    process.stdout.write(`\nKeyshift is running.\n${banner}\n`);
    return;
  }
  await runDemo(base, env.KEYSHIFT_ADMIN_TOKEN!, as.issuer, Number(env.KEYSHIFT_DEMO_CLIENTS ?? 300));
  process.stdout.write(`\nKeyshift keeps running (Ctrl-C stops it).\n${banner}  Demo AS:  ${as.issuer}\n\n`);
}

/** Short timers so the demo finishes in a minute or two; anything set in the environment wins. */
const DEMO_TIMERS = {
  KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '1',
  KEYSHIFT_CAMPAIGN_TICK_SECONDS: '1',
  KEYSHIFT_SOAK_MIN_SUCCESSES: '2',
  KEYSHIFT_SOAK_MIN_SECONDS: '3',
  KEYSHIFT_SOAK_INTERVAL_SECONDS: '2',
  KEYSHIFT_EVIDENCE_RECHECK_SECONDS: '2',
  KEYSHIFT_LOG_LEVEL: 'warn',
};

async function runDemo(base: string, token: string, issuer: string, count: number): Promise<void> {
  const api = keyshiftApi(base, token);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`\nDemo: an estate of ${count} OAuth clients on node-oidc-provider at ${issuer}`);
  const server = await api.call<{ id: string }>('POST', '/v1/authorization-servers', {
    name: 'demo-as (node-oidc-provider)',
    issuer,
    connector: { type: 'rfc7592' },
    probeRatePerSecond: 100,
    probeConcurrency: 16,
  });
  await api.call('POST', `/v1/authorization-servers/${server.id}/discover`);
  const shapes = demoShapes(count);
  await seedEstate(api, issuer, server.id, shapes, 'demo');
  const broken = shapes.filter((s) => s.kind === 'stale_token' || s.kind === 'deleted_at_server').length;
  say(
    `Seeded ${count} clients (client_secret_basic and client_secret_post): most move in place with DPoP, ` +
      `${shapes.filter((s) => s.kind === 'successor').length} to successor clients, ${broken} broken the way real estates are.`,
  );
  const campaign = await api.call<{ id: string; waveCount: number }>('POST', '/v1/campaigns', {
    name: 'demo estate',
    selector: { tags: ['demo'] },
    canarySize: 10,
    waveSize: 100,
    maxFailureRate: 0.1,
    serverBudgetPerSecond: 80,
  });
  say(`Campaign ${campaign.id}: a canary of 10, then waves of 100, pausing above a 10% failure rate.\n`);
  const started = Date.now();
  const end = await watchCampaign(api, campaign.id, say);
  say(
    `\nCampaign ${end.status} in ${Math.round((Date.now() - started) / 1000)} s${end.pausedReason ? `: ${end.pausedReason}` : ''}.`,
  );
  for (const f of end.progress.failures.slice(0, 10))
    say(`  needs a person: ${f.clientId} in ${f.phase} (${f.state}): ${f.reason}`);
  say(
    `\nSee:\n  GET ${base}/v1/campaigns/${campaign.id}   (progress, and who failed and why)\n` +
      `  GET ${base}/v1/reports/estate?format=csv   (the estate report; format=pdf has the worker draw it with charts)\n` +
      `  GET ${base}/v1/clients/{client row id}/evidence   (one client's story as a signed evidence pack; keys at ${base}/.well-known/jwks.json)\n` +
      `  GET ${base}/v1/audit/verify   (checks the hash chain)\n` +
      `  ${base}/docs   (every route)`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
