/**
 * Issue 14's figures, against the admin-API twins (test/support/twins) in front of the real
 * demo authorization server, with Keyshift's API and worker as their own processes:
 *
 * 1. Discovery of BENCH_DISCOVERY_CLIENTS (default 10,000) clients at the Keycloak twin: wall time,
 *    admin calls, peak RSS of the worker and the API. Baseline, side by side in the same run: a
 *    plain script paging through the same twin with the same admin token and page size, parsing
 *    each page and nothing else (no storage, audit, budget or job). Ratio = bare ÷ Keyshift.
 * 2. A BENCH_OKTA_CLIENTS (default 200) client campaign (in place, automatic cutover, no DPoP) at
 *    the Okta twin held to BENCH_OKTA_BUDGET (default 600) admin calls a minute: the time the
 *    budget predicts (admin calls made ÷ budget) against the campaign's wall time, the 429s the twin
 *    answered (its own bucket is set to the same budget), and the peak one-minute call count.
 * Usage: npm run bench:vendors   (BENCH_PART=discovery|okta to run one)
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { TestAuthorizationServer } from '../test/support/test-as';
import { startKeycloakTwin } from '../test/support/twins/keycloak-twin';
import { startOktaTwin } from '../test/support/twins/okta-twin';
import { CampaignProgress, keyshiftApi, progressLine } from '../scripts/demo-estate';
import { admin, dbUrl, fmt, startApi, startProcess, stopProcess } from './support';

const DISCOVERY_CLIENTS = Number(process.env.BENCH_DISCOVERY_CLIENTS ?? 10_000);
const OKTA_CLIENTS = Number(process.env.BENCH_OKTA_CLIENTS ?? 200);
const OKTA_BUDGET = Number(process.env.BENCH_OKTA_BUDGET ?? 600);
const PART = process.env.BENCH_PART ?? 'all';

async function startAs(): Promise<TestAuthorizationServer & { stopAs: () => Promise<void> }> {
  const child = startProcess('apps/demo-as/src/main.js', {}, ['--port', '0', '--accept-client-ids']);
  const issuer = await new Promise<string>((resolve) =>
    createInterface({ input: child.stdout! }).once('line', (l) =>
      resolve((JSON.parse(l) as { issuer: string }).issuer),
    ),
  );
  const register = async (metadata: Record<string, unknown>) => {
    const res = await fetch(`${issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(metadata),
    });
    return (await res.json()) as Record<string, string>;
  };
  return {
    issuer,
    process: child,
    register,
    reissueRegistrationAccessToken: () => Promise.reject(new Error('not in the bench')),
    stop: () => stopProcess(child),
    stopAs: () => stopProcess(child),
  };
}

interface Keyshift {
  api: ReturnType<typeof keyshiftApi>;
  peakRss(): { api: number; worker: number };
  stop(): Promise<void>;
}

async function startKeyshift(as: string, extraHosts: string[], env: Record<string, string> = {}): Promise<Keyshift> {
  const database = `keyshift_bench_vendors_${Date.now().toString(36)}`;
  await admin((c) => c.query(`CREATE DATABASE "${database}"`));
  const port = 3407;
  const common = {
    KEYSHIFT_MASTER_KEY: randomBytes(32).toString('base64'),
    KEYSHIFT_ADMIN_TOKEN: `bench_${randomBytes(24).toString('base64url')}`,
    KEYSHIFT_PUBLIC_URL: `http://127.0.0.1:${port}`,
    KEYSHIFT_OUTBOUND_ALLOWLIST: [new URL(as).host, `127.0.0.1:${port}`, ...extraHosts].join(','),
    KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '1',
    KEYSHIFT_CAMPAIGN_TICK_SECONDS: '1',
    KEYSHIFT_SOAK_MIN_SUCCESSES: '1',
    KEYSHIFT_SOAK_MIN_SECONDS: '0',
    KEYSHIFT_EVIDENCE_RECHECK_SECONDS: '1',
    KEYSHIFT_JWKS_MAX_AGE_SECONDS: '0',
    ...env,
  };
  const api = await startApi(database, port, common);
  const worker = startProcess('apps/worker/src/main.js', {
    DATABASE_URL: dbUrl(database),
    KEYSHIFT_REDIS_PREFIX: database,
    KEYSHIFT_LOG_LEVEL: 'warn',
    ...common,
  });
  const rss = (pid: number) => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
  };
  return {
    api: keyshiftApi(api.base, api.token),
    peakRss: () => ({ api: api.peakRssMiB(), worker: rss(worker.pid!) }),
    stop: async () => {
      await stopProcess(worker);
      await api.stop();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
    },
  };
}

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, every = 200): Promise<T> {
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, every));
  }
}

async function discovery(): Promise<void> {
  const as = await startAs();
  const twin = await startKeycloakTwin(as);
  // Listing reads the twin's records only: the estate needs no provider registrations behind it.
  for (let i = 0; i < DISCOVERY_CLIENTS; i++) {
    twin.adopt(
      {
        client_id: `svc-${i}`,
        client_secret: randomBytes(16).toString('hex'),
        registration_client_uri: '',
        registration_access_token: '',
      },
      `service ${i}`,
      new Date(Date.now() - (i % 730) * 86_400_000),
    );
  }
  const ks = await startKeyshift(as.issuer, [new URL(twin.url).host]);
  try {
    const server = await ks.api.call<{ id: string }>('POST', '/v1/authorization-servers', {
      name: 'keycloak',
      issuer: as.issuer,
      trustedHosts: [new URL(twin.url).host],
      connector: {
        type: 'keycloak',
        adminUrl: twin.adminUrl,
        credential: { kind: 'client_credentials', ...twin.serviceAccount },
      },
    });
    await until(
      () => ks.api.call<{ discovery: { status: string | null } }>('GET', `/v1/authorization-servers/${server.id}`),
      (s) => s.discovery.status === 'ok',
    );

    // Bare: the same pages, the same token, parsed and counted.
    const token = (await (
      await fetch(`${as.issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${twin.serviceAccount.clientId}:${twin.serviceAccount.clientSecret}`).toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      })
    ).json()) as { access_token: string };
    const bareStarted = performance.now();
    let bareCount = 0;
    let bareCalls = 0;
    for (let first = 0; ; first += 100) {
      const res = await fetch(`${twin.adminUrl}/clients?first=${first}&max=100`, {
        headers: { authorization: `Bearer ${token.access_token}` },
      });
      const page = (await res.json()) as unknown[];
      bareCalls += 1;
      bareCount += page.length;
      if (page.length < 100) break;
    }
    const bareSeconds = (performance.now() - bareStarted) / 1000;

    const callsBefore = twin.calls.length;
    const started = performance.now();
    const run = await ks.api.call<{ id: string }>('POST', `/v1/authorization-servers/${server.id}/inventory`);
    const done = await until(
      () =>
        ks.api.call<{ run: { status: string; clientsFound: number; adminCalls: number; pages: number } }>(
          'GET',
          `/v1/authorization-servers/${server.id}/inventory/${run.id}?limit=1`,
        ),
      (r) => r.run.status === 'done' || r.run.status === 'failed',
      100,
    );
    const seconds = (performance.now() - started) / 1000;
    const rss = ks.peakRss();
    console.log(`discovery of ${DISCOVERY_CLIENTS} clients at the Keycloak twin`);
    console.log(`  bare paging:  ${fmt(bareSeconds, 2)} s, ${bareCalls} admin calls, ${bareCount} clients`);
    console.log(
      `  Keyshift:     ${fmt(seconds, 2)} s, ${done.run.adminCalls} admin calls (${twin.calls.length - callsBefore} seen by the twin), ${done.run.clientsFound} clients, status ${done.run.status}`,
    );
    console.log(`  ratio bare ÷ Keyshift: ${fmt(bareSeconds / seconds, 2)}`);
    console.log(`  peak RSS: worker ${fmt(rss.worker, 0)} MiB, API ${fmt(rss.api, 0)} MiB`);
  } finally {
    await ks.stop();
    await twin.close();
    await as.stopAs();
  }
}

async function oktaBudget(): Promise<void> {
  const as = await startAs();
  const twin = await startOktaTwin(as, { callsPerMinute: OKTA_BUDGET });
  const ks = await startKeyshift(as.issuer, [new URL(twin.url).host], { KEYSHIFT_WORKER_CONCURRENCY: '32' });
  try {
    const server = await ks.api.call<{ id: string }>('POST', '/v1/authorization-servers', {
      name: 'okta',
      issuer: as.issuer,
      trustedHosts: [new URL(twin.url).host],
      assertionAudience: 'token_endpoint',
      probeRatePerSecond: 1000,
      probeConcurrency: 32,
      connector: {
        type: 'okta',
        adminUrl: twin.adminUrl,
        credential: { kind: 'ssws', token: twin.apiToken },
        adminCallsPerMinute: OKTA_BUDGET,
      },
    });
    const rows = [];
    for (let i = 0; i < OKTA_CLIENTS; i++) {
      const reg = await as.register({ token_endpoint_auth_method: 'client_secret_basic', client_name: `okta-${i}` });
      twin.adopt(reg);
      rows.push({
        authorizationServerId: server.id,
        clientId: reg.client_id,
        authMethod: 'client_secret_basic',
        clientSecret: reg.client_secret,
        target: { authMethod: 'private_key_jwt', senderConstraint: 'none', strategy: 'in_place', cutover: 'automatic' },
        tags: ['okta-bench'],
      });
    }
    await ks.api.call('POST', '/v1/clients/import', rows);
    await new Promise((r) => setTimeout(r, 3_000));
    const callsBefore = twin.bucket.calls;
    const refusedBefore = twin.bucket.refused;
    const perMinute: number[] = [];
    const started = Date.now();
    const campaign = await ks.api.call<{ id: string }>('POST', '/v1/campaigns', {
      name: 'okta-bench',
      selector: { tags: ['okta-bench'] },
      canarySize: 0,
      waveSize: OKTA_CLIENTS,
      maxFailureRate: 0,
      serverBudgetPerSecond: 1000,
    });
    let last = '';
    let windowStart = Date.now();
    let windowCalls = twin.bucket.calls;
    for (;;) {
      const c = await ks.api.call<CampaignProgress>('GET', `/v1/campaigns/${campaign.id}`);
      const line = progressLine(c);
      if (line !== last) process.stdout.write(`  ${Math.round((Date.now() - started) / 1000)}s ${line}\n`);
      last = line;
      if (Date.now() - windowStart >= 60_000) {
        perMinute.push(twin.bucket.calls - windowCalls);
        windowStart = Date.now();
        windowCalls = twin.bucket.calls;
      }
      if (c.status !== 'running') {
        if (c.status !== 'completed') throw new Error(`campaign ${c.status}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const seconds = (Date.now() - started) / 1000;
    const calls = twin.bucket.calls - callsBefore;
    const predicted = (calls / OKTA_BUDGET) * 60;
    console.log(`${OKTA_CLIENTS}-client campaign at the Okta twin, admin budget ${OKTA_BUDGET}/min`);
    console.log(
      `  admin calls: ${calls} (${fmt(calls / OKTA_CLIENTS, 1)} per client), 429s: ${twin.bucket.refused - refusedBefore}`,
    );
    console.log(`  calls per full minute: ${perMinute.join(', ') || '(under a minute)'}`);
    console.log(
      `  predicted by the budget: ${fmt(predicted, 1)} s; taken: ${fmt(seconds, 1)} s; ratio predicted ÷ taken: ${fmt(predicted / seconds, 2)}`,
    );
  } finally {
    await ks.stop();
    await twin.close();
    await as.stopAs();
  }
}

async function main(): Promise<void> {
  if (PART === 'all' || PART === 'discovery') await discovery();
  if (PART === 'all' || PART === 'okta') await oktaBudget();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
