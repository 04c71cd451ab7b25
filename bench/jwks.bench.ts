/**
 * Issue 4's figure: requests per second of the public JWKS route (GET /jwks/{jwksId}.json through
 * the real API process) against a bare node:http server sending the same bytes and headers, same
 * machine, same load generator (autocannon, in this process), alternating runs. Target: >= 0.6.
 * Usage: npm run bench:jwks  (BENCH_SECONDS per run, default 10; BENCH_CONNECTIONS, default 64)
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { admin, fmt, startApi, startProcess, stopProcess } from './support';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);

interface LoadResult {
  rps: number;
  p99: number;
  non2xx: number;
}

/** wrk is a C load generator (Debian's `wrk`): it costs the servers far less CPU than autocannon does. */
const WRK = spawnSync('wrk', ['--version']).error === undefined;

async function load(url: string, headers: Record<string, string> = {}): Promise<LoadResult> {
  if (!WRK) {
    const result = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers });
    return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx };
  }
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', url];
  for (const [name, value] of Object.entries(headers)) args.unshift('-H', `${name}: ${value}`);
  const out = spawnSync('wrk', args, { encoding: 'utf8' }).stdout;
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out)!;
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]),
    p99: Number(p99[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[p99[2]],
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
  };
}

async function main(): Promise<void> {
  const database = `keyshift_bench_${Date.now().toString(36)}`;
  await admin((c) => c.query(`CREATE DATABASE "${database}"`));
  const env = {
    KEYSHIFT_MASTER_KEY: randomBytes(32).toString('base64'),
    KEYSHIFT_ADMIN_TOKEN: `bench_${randomBytes(24).toString('base64url')}`,
    KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '3600',
    KEYSHIFT_LOG_LEVEL: 'warn',
  };
  const api = await startApi(database, 3403, env);
  const worker = startProcess('apps/worker/src/main.js', {
    ...env,
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
    KEYSHIFT_REDIS_PREFIX: database,
  });
  let bare: ReturnType<typeof startProcess> | undefined;
  const headers = { Authorization: `Bearer ${env.KEYSHIFT_ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown) =>
    (await (
      await fetch(`${api.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    ).json()) as Record<string, unknown>;
  try {
    // One client with one managed key, created by a rotation the worker carries out.
    const server = await call('POST', '/v1/authorization-servers', {
      name: 'bench',
      issuer: 'https://as.example.com',
      connector: { type: 'rfc7592' },
    });
    const client = await call('POST', '/v1/clients', {
      authorizationServerId: server.id,
      clientId: 'bench-client',
      authMethod: 'client_secret_basic',
      clientSecret: 'bench-secret',
      target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'in_place' },
    });
    await call('POST', `/v1/clients/${client.id}/keys/rotate`, { alg: 'ES256' });
    let jwksUrl = '';
    for (let i = 0; ; i++) {
      const listing = await call('GET', `/v1/clients/${client.id}/keys`);
      if (listing.jwksUri && (await fetch(listing.jwksUri as string)).status === 200) {
        jwksUrl = listing.jwksUri as string;
        break;
      }
      if (i > 100) throw new Error('the key was never published');
      await new Promise((r) => setTimeout(r, 200));
    }
    await stopProcess(worker); // measure the API alone

    const sample = await fetch(jwksUrl);
    const body = Buffer.from(await sample.arrayBuffer());
    bare = startProcess('bench/bare-jwks-server.js', {
      JWKS_BODY: body.toString('base64'),
      JWKS_ETAG: sample.headers.get('etag')!,
      JWKS_CACHE_CONTROL: sample.headers.get('cache-control')!,
    });
    const barePort = await new Promise<string>((resolve) =>
      createInterface({ input: bare!.stdout! }).once('line', resolve),
    );
    const bareUrl = `http://127.0.0.1:${barePort}/jwks/x.json`;

    await load(jwksUrl); // warm-up, both
    await load(bareUrl);
    const runs = { keyshift: [] as number[], bare: [] as number[] };
    let keyshiftP99 = 0;
    let bareP99 = 0;
    for (let i = 0; i < 2; i++) {
      const b = await load(bareUrl);
      const k = await load(jwksUrl);
      if (k.non2xx) throw new Error(`Keyshift answered ${k.non2xx} non-2xx`);
      runs.bare.push(b.rps);
      runs.keyshift.push(k.rps);
      bareP99 = Math.max(bareP99, b.p99);
      keyshiftP99 = Math.max(keyshiftP99, k.p99);
    }
    const notModified = await load(jwksUrl, { 'If-None-Match': sample.headers.get('etag')! });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    process.stdout.write(
      [
        `JWKS body ${body.length} bytes, load from ${WRK ? 'wrk (1 thread)' : 'autocannon (wrk not installed)'}, ${CONNECTIONS} connections, ${SECONDS} s per run, runs alternated`,
        `bare node:http: ${runs.bare.map((r) => fmt(r, 0)).join(', ')} req/s (p99 ${fmt(bareP99, 2)} ms)`,
        `Keyshift GET /jwks/{id}.json: ${runs.keyshift.map((r) => fmt(r, 0)).join(', ')} req/s (p99 ${fmt(keyshiftP99, 2)} ms)`,
        `Keyshift with If-None-Match (304): ${fmt(notModified.rps, 0)} req/s`,
        `ratio Keyshift/bare = ${fmt(mean(runs.keyshift) / mean(runs.bare), 2)} (target >= 0.6)`,
      ].join('\n') + '\n',
    );
  } finally {
    if (bare) await stopProcess(bare);
    await Promise.all([api.stop(), stopProcess(worker)]);
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
