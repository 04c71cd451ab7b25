/**
 * Issue 5's figure: 1,000 clients taken through all six phases (in place, automatic cutover, DPoP;
 * soak at its minimum) by one campaign against the local oidc-provider, from the campaign's
 * creation to its completion. Prints the total, a per-phase breakdown (how long clients spent in
 * each phase, and each phase's span across the estate), and Keyshift's own overhead: the share of
 * client-time not spent waiting on the server (probe and RFC 7592 latencies, as recorded) nor on
 * soaks (zero here).
 *
 * Baseline, side by side in the same run: a plain script making the same protocol calls per client
 * (RFC 7592 read+update to register the jwks_uri, a secret token request, read+update to switch
 * the method, a key token request, a secret request that must fail, read+update for DPoP, a DPoP
 * and a plain token request) at the same concurrency, with no state, evidence, audit or scheduling.
 * Usage: npm run bench:migration   (BENCH_CLIENTS, BENCH_CONCURRENCY to change the size)
 */
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { generateKeyPair, generateProof } from 'dpop';
import { exportJWK, SignJWT } from 'jose';
import { CampaignProgress, ClientShape, keyshiftApi, progressLine, seedEstate } from '../scripts/demo-estate';
import { admin, cpuSeconds, dbUrl, fmt, percentile, pool, startApi, startProcess, stopProcess } from './support';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

async function startAs(): Promise<{ issuer: string; stop: () => Promise<void> }> {
  const as = startProcess('apps/demo-as/src/main.js', {}, ['--port', '0']);
  const issuer = await new Promise<string>((resolve) =>
    createInterface({ input: as.stdout! }).once('line', (l) => resolve(JSON.parse(l).issuer)),
  );
  return { issuer, stop: () => stopProcess(as) };
}

async function keyshiftRun(): Promise<{ seconds: number; report: string[] }> {
  const as = await startAs();
  const database = `keyshift_bench_${Date.now().toString(36)}`;
  await admin((c) => c.query(`CREATE DATABASE "${database}"`));
  const port = 3405;
  const common = {
    KEYSHIFT_MASTER_KEY: randomBytes(32).toString('base64'),
    KEYSHIFT_ADMIN_TOKEN: `bench_${randomBytes(24).toString('base64url')}`,
    KEYSHIFT_PUBLIC_URL: `http://127.0.0.1:${port}`,
    // Exact host:port entries: the authorization server and Keyshift's own JWKS, nothing else.
    KEYSHIFT_OUTBOUND_ALLOWLIST: `${new URL(as.issuer).host},127.0.0.1:${port}`,
    KEYSHIFT_RECONCILE_INTERVAL_SECONDS: '1',
    KEYSHIFT_RECONCILE_BATCH_SIZE: '1000',
    KEYSHIFT_CAMPAIGN_TICK_SECONDS: '1',
    KEYSHIFT_WORKER_CONCURRENCY: String(CONCURRENCY),
    KEYSHIFT_SOAK_MIN_SUCCESSES: '1',
    KEYSHIFT_SOAK_MIN_SECONDS: '0',
    KEYSHIFT_EVIDENCE_RECHECK_SECONDS: '1',
    KEYSHIFT_JWKS_MAX_AGE_SECONDS: '0',
  };
  const api = await startApi(database, port, common);
  const worker = startProcess('apps/worker/src/main.js', {
    DATABASE_URL: dbUrl(database),
    KEYSHIFT_REDIS_PREFIX: database,
    KEYSHIFT_LOG_LEVEL: 'warn',
    ...common,
  });
  const ks = keyshiftApi(api.base, api.token);
  try {
    const server = await ks.call<{ id: string }>('POST', '/v1/authorization-servers', {
      name: 'bench-as',
      issuer: as.issuer,
      connector: { type: 'rfc7592' },
      probeRatePerSecond: 5_000,
      probeConcurrency: 64,
    });
    await ks.call('POST', `/v1/authorization-servers/${server.id}/discover`);
    const shapes: ClientShape[] = Array.from({ length: CLIENTS }, (_, i) => ({
      kind: 'in_place',
      method: i % 2 ? 'client_secret_post' : 'client_secret_basic',
      dpop: true,
    }));
    await seedEstate(ks, as.issuer, server.id, shapes, 'bench');
    // Discovery and vendor_check run as soon as clients exist; the campaign clock starts after.
    await new Promise((r) => setTimeout(r, 3_000));
    const cpu = () => ({
      worker: cpuSeconds((c) => c.includes('apps/worker/src/main.js')),
      api: cpuSeconds((c) => c.includes('apps/api/src/main.js')),
      as: cpuSeconds((c) => c.includes('apps/demo-as/src/main.js')),
      postgres: cpuSeconds((c) => c.startsWith('postgres:')),
    });
    const cpuBefore = cpu();
    const started = Date.now();
    const campaign = await ks.call<{ id: string }>('POST', '/v1/campaigns', {
      name: 'bench',
      selector: { tags: ['bench'] },
      canarySize: 0,
      waveSize: CLIENTS,
      maxFailureRate: 0,
      serverBudgetPerSecond: 5_000,
    });
    let last = '';
    for (;;) {
      const c = await ks.call<CampaignProgress>('GET', `/v1/campaigns/${campaign.id}`);
      const line = progressLine(c);
      if (line !== last) process.stdout.write(`  ${Math.round((Date.now() - started) / 1000)}s ${line}\n`);
      last = line;
      if (c.status !== 'running') {
        if (c.status !== 'completed') throw new Error(`campaign ${c.status}: ${JSON.stringify(c)}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const seconds = (Date.now() - started) / 1000;
    const cpuAfter = cpu();
    const cpuLine = `  CPU seconds during the campaign: ${Object.entries(cpuAfter)
      .map(([k, v]) => `${k} ${fmt(v - cpuBefore[k as keyof typeof cpuBefore])}`)
      .join(', ')} (2 cores: ${fmt(2 * seconds)} available)`;
    return { seconds, report: [...(await breakdown(database, new Date(started))), cpuLine] };
  } finally {
    await stopProcess(worker);
    await api.stop();
    await as.stop();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
  }
}

/** Per-phase times from the audit trail, and the overhead fraction from recorded server latencies. */
async function breakdown(database: string, campaignStart: Date): Promise<string[]> {
  return admin(async (c) => {
    const { rows: spans } = await c.query<{ phase: string; ms: number[]; first: Date; last: Date }>(
      `WITH entered AS (
         SELECT subject_id, occurred_at, after->>'phase' AS phase,
                lead(occurred_at) OVER (PARTITION BY subject_id ORDER BY seq) AS left_at,
                lead(after->>'phase') OVER (PARTITION BY subject_id ORDER BY seq) AS next_phase
         FROM audit_events WHERE subject_type = 'client' AND action IN ('client.advance', 'client.created')
       ), filtered AS (
         SELECT * FROM entered WHERE left_at IS NOT NULL AND occurred_at >= $1 OR (phase = 'key_registration' AND left_at IS NOT NULL)
       )
       SELECT phase, array_agg(extract(epoch FROM left_at - occurred_at) * 1000 ORDER BY 1) AS ms,
              min(occurred_at) AS first, max(left_at) AS last
       FROM filtered WHERE phase <> 'vendor_check' GROUP BY phase`,
      [campaignStart],
    );
    const { rows: totals } = await c.query<{ client_ms: number; probe_ms: number; registration_ms: number }>(
      `SELECT
         (SELECT sum(extract(epoch FROM done.occurred_at - start.occurred_at) * 1000)
            FROM audit_events start JOIN audit_events done ON done.subject_id = start.subject_id
            WHERE start.action = 'client.advance' AND start.after->>'phase' = 'key_registration'
              AND done.action = 'client.advance' AND done.after->>'phase' = 'completed')::float AS client_ms,
         (SELECT coalesce(sum(latency_ms), 0) FROM probes WHERE via = 'token_request')::float AS probe_ms,
         (SELECT coalesce(sum((after->>'serverMs')::float), 0) FROM audit_events
            WHERE action IN ('client.registration_updated', 'client.registration_deleted'))::float AS registration_ms`,
    );
    const order = ['key_registration', 'parallel_auth', 'cutover', 'secret_revocation', 'sender_constraint'];
    const lines = ['  phase               p50 in phase   p95 in phase   span across the estate'];
    for (const phase of order) {
      const s = spans.find((r) => r.phase === phase);
      if (!s) continue;
      const ms = s.ms.map(Number).sort((a, b) => a - b);
      lines.push(
        `  ${phase.padEnd(18)}  ${fmt(percentile(ms, 50) / 1000, 2).padStart(8)} s     ${fmt(percentile(ms, 95) / 1000, 2).padStart(8)} s     ${fmt((s.last.getTime() - s.first.getTime()) / 1000)} s`,
      );
    }
    const t = totals[0];
    const server = t.probe_ms + t.registration_ms;
    lines.push(
      `  client-time ${fmt(t.client_ms / 1000)} s: waiting on the server ${fmt(server / 1000)} s (token requests ${fmt(t.probe_ms / 1000)} s, RFC 7592 ${fmt(t.registration_ms / 1000)} s), soak 0 s`,
      `  per client: ${fmt(t.client_ms / 1000 / CLIENTS)} s from key_registration to completed, of which ${fmt(server / 1000 / CLIENTS, 2)} s on the server; ` +
        `overhead ${fmt((100 * (t.client_ms - server)) / t.client_ms)}% of client-time (queueing for a worker included)`,
    );
    return lines;
  }, dbUrl(database));
}

/** The same protocol work per client, straight to the server, at the same concurrency. */
async function baselineRun(): Promise<number> {
  const as = await startAs();
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(await exportJWK(key.publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' };
  const jwksHost = createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwksHost.listen(0, '127.0.0.1', r));
  const jwksUri = `http://127.0.0.1:${(jwksHost.address() as AddressInfo).port}/jwks.json`;
  try {
    const regs = await pool(
      Array.from({ length: CLIENTS }, (_, i) => i),
      16,
      async () => {
        const res = await fetch(`${as.issuer}/reg`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ token_endpoint_auth_method: 'client_secret_basic' }),
        });
        return (await res.json()) as Record<string, string>;
      },
    );
    const token = `${as.issuer}/token`;
    const started = Date.now();
    await pool(regs, CONCURRENCY, async (reg) => {
      let rat = reg.registration_access_token;
      const update = async (change: Record<string, unknown>) => {
        const current = (await (
          await fetch(reg.registration_client_uri, { headers: { authorization: `Bearer ${rat}` } })
        ).json()) as Record<string, unknown>;
        for (const f of [
          'registration_access_token',
          'registration_client_uri',
          'client_secret',
          'client_secret_expires_at',
          'client_id_issued_at',
        ])
          delete current[f];
        const res = await fetch(reg.registration_client_uri, {
          method: 'PUT',
          headers: { authorization: `Bearer ${rat}`, 'content-type': 'application/json' },
          body: JSON.stringify({ ...current, ...change }),
        });
        const body = (await res.json()) as Record<string, string>;
        if (res.status !== 200) throw new Error(JSON.stringify(body));
        rat = body.registration_access_token ?? rat;
      };
      const basic = () =>
        fetch(token, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${reg.client_id}:${reg.client_secret}`).toString('base64')}`,
          },
          body: 'grant_type=client_credentials',
        });
      const withKey = async (dpop: boolean) => {
        const iat = Math.floor(Date.now() / 1000) - 5;
        const assertion = await new SignJWT({})
          .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
          .setIssuer(reg.client_id)
          .setSubject(reg.client_id)
          .setAudience(as.issuer)
          .setJti(randomUUID())
          .setIssuedAt(iat)
          .setExpirationTime(iat + 60)
          .sign(key.privateKey);
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
        if (dpop) headers.dpop = await generateProof(await generateKeyPair('ES256'), token, 'POST');
        return fetch(token, {
          method: 'POST',
          headers,
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: assertion,
          }).toString(),
        });
      };
      const expect = async (res: Promise<Response>, status: number) => {
        const r = await res;
        await r.arrayBuffer();
        if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}`);
      };
      await update({ jwks_uri: jwksUri });
      await expect(basic(), 200);
      await update({ token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256' });
      await expect(withKey(false), 200);
      await expect(basic(), 401);
      await update({ dpop_bound_access_tokens: true });
      await expect(withKey(true), 200);
      await expect(withKey(false), 400); // invalid_request: a DPoP proof is required
    });
    return (Date.now() - started) / 1000;
  } finally {
    jwksHost.close();
    await as.stop();
  }
}

async function main(): Promise<void> {
  process.stdout.write(`Migration bench: ${CLIENTS} clients, all six phases, concurrency ${CONCURRENCY}\n`);
  const baseline1 = await baselineRun();
  process.stdout.write(`baseline (bare protocol calls): ${fmt(baseline1)} s\n`);
  const run = await keyshiftRun();
  const baseline2 = await baselineRun();
  process.stdout.write(`baseline again: ${fmt(baseline2)} s\n`);
  const baseline = (baseline1 + baseline2) / 2;
  process.stdout.write(
    `\nKeyshift: ${CLIENTS} clients through six phases in ${fmt(run.seconds)} s (target < 300 s)\n` +
      `${run.report.join('\n')}\n` +
      `baseline mean ${fmt(baseline)} s: ratio baseline/Keyshift ${fmt(baseline / run.seconds, 2)}; ` +
      `Keyshift overhead by wall clock (1 - baseline/Keyshift) ${fmt(100 * (1 - baseline / run.seconds))}%\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
