/**
 * Issue 3's figure: a sweep of 5,000 clients (one client_secret_basic probe each) against the local
 * oidc-provider, measured from the API request that starts the sweep to the last probe stored as
 * evidence, against a plain load loop sending the same token requests straight to the same server
 * at the same concurrency, in the same run. Prints both rates, the ratio (target >= 0.5) and the
 * p50/p99 latency of the token requests. Usage: npm run bench:probes
 */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { admin, cpuSeconds, fmt, percentile, pool, startApi, startProcess, stopProcess } from './support';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 5_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);

async function main(): Promise<void> {
  const as = startProcess('apps/demo-as/src/main.js', {}, ['--port', '0']);
  const issuer = await new Promise<string>((resolve) =>
    createInterface({ input: as.stdout! }).once('line', (l) => resolve(JSON.parse(l).issuer)),
  );
  const database = `keyshift_bench_${Date.now().toString(36)}`;
  await admin((c) => c.query(`CREATE DATABASE "${database}"`));
  const masterKey = randomBytes(32).toString('base64');
  const adminToken = `bench_${randomBytes(24).toString('base64url')}`;
  const common = {
    KEYSHIFT_MASTER_KEY: masterKey,
    KEYSHIFT_ADMIN_TOKEN: adminToken,
    KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '3600',
    // Exact host:port: the authorization server and nothing else on the host.
    KEYSHIFT_OUTBOUND_ALLOWLIST: new URL(issuer).host,
  };
  const api = await startApi(database, 3402, common);
  const worker = startProcess(
    'apps/worker/src/main.js',
    {
      DATABASE_URL: api.base && `postgres://postgres@127.0.0.1:5432/${database}`,
      KEYSHIFT_REDIS_PREFIX: database,
      KEYSHIFT_LOG_LEVEL: 'warn',
      ...common,
    },
    [],
    process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [],
  );
  const headers = { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await res.json()) as Record<string, unknown>;
  };
  try {
    // The estate: clients registered at the AS (RFC 7591), then imported into Keyshift.
    const registered = await pool(Array.from({ length: CLIENTS }), 16, async () => {
      const res = await fetch(`${issuer}/reg`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"token_endpoint_auth_method":"client_secret_basic"}',
      });
      return (await res.json()) as { client_id: string; client_secret: string };
    });
    const server = await call('POST', '/v1/authorization-servers', {
      name: 'bench-as',
      issuer,
      connector: { type: 'rfc7592' },
      probeRatePerSecond: 10_000,
      probeConcurrency: CONCURRENCY,
    });
    for (let i = 0; i < CLIENTS; i += 5_000) {
      const rows = registered.slice(i, i + 5_000).map((r) => ({
        authorizationServerId: server.id,
        clientId: r.client_id,
        authMethod: 'client_secret_basic',
        clientSecret: r.client_secret,
        target: { authMethod: 'private_key_jwt', senderConstraint: 'dpop', strategy: 'in_place' },
      }));
      const report = await call('POST', '/v1/clients/import', rows);
      if (report.created !== rows.length) throw new Error(`import failed: ${JSON.stringify(report).slice(0, 300)}`);
    }
    for (let i = 0; ; i++) {
      const s = await call('GET', `/v1/authorization-servers/${server.id}`);
      if ((s.discovery as { status: string }).status === 'ok') break;
      if (i > 100) throw new Error('discovery did not finish');
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 6_000)); // the worker starts the server's probe queue within 5 s

    // Baseline: the same token requests, straight to the AS, same concurrency. The AS is warmed up
    // first, and the loop runs before and after Keyshift's sweep; the baseline is the mean of both.
    const tokenEndpoint = `${issuer}/token`;
    const direct: number[] = [];
    const directRun = async (clients: typeof registered): Promise<number> => {
      const d0 = performance.now();
      await pool(clients, CONCURRENCY, async (r) => {
        const t0 = performance.now();
        const res = await fetch(tokenEndpoint, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${encodeURIComponent(r.client_id)}:${encodeURIComponent(r.client_secret)}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: 'grant_type=client_credentials',
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`direct request failed: ${res.status}`);
        direct.push(performance.now() - t0);
      });
      return clients.length / ((performance.now() - d0) / 1000);
    };
    await directRun(registered.slice(0, 1_000)); // warm-up
    direct.length = 0;
    const directBefore = await directRun(registered);

    // Keyshift: API sweep to stored evidence.
    const processes = {
      'authorization server': (c: string) => c.includes('demo-as/src/main.js'),
      'keyshift worker': (c: string) => c.includes('apps/worker/src/main.js'),
      'keyshift api': (c: string) => c.includes('apps/api/src/main.js'),
      postgres: (c: string) => c.startsWith('postgres:'),
      redis: (c: string) => c.includes('redis-server'),
    };
    const cpuBefore = Object.fromEntries(Object.entries(processes).map(([k, m]) => [k, cpuSeconds(m)]));
    const k0 = performance.now();
    const sweep = await call('POST', '/v1/probes/sweeps', { authorizationServerId: server.id });
    let status: Record<string, unknown>;
    for (;;) {
      status = await call('GET', `/v1/probes/sweeps/${sweep.sweepId}`);
      if ((status.probes as number) >= CLIENTS) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const keyshiftSeconds = (performance.now() - k0) / 1000;
    const cpu = Object.entries(processes).map(
      ([k, m]) => `${k} ${fmt(((cpuSeconds(m) - cpuBefore[k]) / CLIENTS) * 1000, 2)} ms`,
    );
    const latencies = await admin(
      (c) => c.query('SELECT latency_ms FROM probes WHERE sweep_id = $1 ORDER BY latency_ms', [sweep.sweepId]),
      `postgres://postgres@127.0.0.1:5432/${database}`,
    );
    const probeLatency = latencies.rows.map((r: { latency_ms: number }) => r.latency_ms);
    const directAfter = await directRun(registered);
    direct.sort((a, b) => a - b);

    const keyshiftRate = CLIENTS / keyshiftSeconds;
    const directRate = (directBefore + directAfter) / 2;
    process.stdout.write(
      [
        `clients: ${CLIENTS}, concurrency ${CONCURRENCY}, outcomes ${JSON.stringify(status.byOutcome)}`,
        `Keyshift sweep (API enqueue -> stored evidence): ${fmt(keyshiftSeconds, 2)} s = ${fmt(keyshiftRate, 0)} probes/s; token request latency p50 ${fmt(percentile(probeLatency, 50), 1)} ms, p99 ${fmt(percentile(probeLatency, 99), 1)} ms`,
        `direct load loop (same requests, same AS): ${fmt(directBefore, 0)} req/s before, ${fmt(directAfter, 0)} after, mean ${fmt(directRate, 0)} req/s; latency p50 ${fmt(percentile(direct, 50), 1)} ms, p99 ${fmt(percentile(direct, 99), 1)} ms`,
        `ratio Keyshift/direct = ${fmt(keyshiftRate / directRate, 2)} (target >= 0.5)`,
        `CPU per probe during the sweep: ${cpu.join(', ')}`,
      ].join('\n') + '\n',
    );
  } finally {
    await Promise.all([api.stop(), stopProcess(worker), stopProcess(as)]);
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
