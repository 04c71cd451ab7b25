/**
 * Issue 2's figures, measured against the real API (a child process) on a private database:
 *   (a) importing 100,000 clients through POST /v1/clients/import (10 requests of 10,000 rows):
 *       wall time and the API's peak RSS; baseline: the same rows bulk-inserted straight into a
 *       copy of the clients table (no HTTP, validation, encryption or audit), in the same run;
 *   (b) listing clients with a phase+owner filter at 100,000 rows: p50/p95/p99 over HTTP;
 *       baseline: the same SQL sent directly with pg, in the same run.
 * Prints figures and ratios; asserts nothing. Usage: npm run bench:foundation
 */
import { randomBytes } from 'node:crypto';
import { admin, dbUrl, fmt, percentile, startApi } from './support';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 100_000);
const BATCH = 10_000;
const OWNERS = 200;
const LIST_REQUESTS = Number(process.env.BENCH_LIST_REQUESTS ?? 2_000);

function row(serverId: string, i: number) {
  return {
    authorizationServerId: serverId,
    clientId: `bench-client-${i}`,
    authMethod: i % 3 ? 'client_secret_basic' : 'client_secret_post',
    clientSecret: randomBytes(24).toString('base64url'),
    target: {
      authMethod: 'private_key_jwt',
      senderConstraint: i % 4 ? 'dpop' : 'none',
      strategy: i % 10 ? 'in_place' : 'successor',
    },
    owner: `owner-${i % OWNERS}`,
    tags: [`wave-${i % 5}`, i % 7 ? 'internal' : 'partner'],
  };
}

async function main(): Promise<void> {
  const database = `keyshift_bench_${Date.now().toString(36)}`;
  await admin((c) => c.query(`CREATE DATABASE "${database}"`));
  const api = await startApi(database, 3401);
  const headers = { Authorization: `Bearer ${api.token}`, 'Content-Type': 'application/json' };
  try {
    const server = (await (
      await fetch(`${api.base}/v1/authorization-servers`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'bench-as', issuer: 'https://idp.bench.example', connector: { type: 'rfc7592' } }),
      })
    ).json()) as { id: string };
    const rows = Array.from({ length: CLIENTS }, (_, i) => row(server.id, i));

    // (a) import through the API
    const started = performance.now();
    for (let i = 0; i < CLIENTS; i += BATCH) {
      const res = await fetch(`${api.base}/v1/clients/import`, {
        method: 'POST',
        headers,
        body: JSON.stringify(rows.slice(i, i + BATCH)),
      });
      const report = (await res.json()) as { created: number };
      if (res.status !== 200 || report.created !== Math.min(BATCH, CLIENTS - i))
        throw new Error(`import failed: ${res.status} ${JSON.stringify(report).slice(0, 300)}`);
    }
    const importSeconds = (performance.now() - started) / 1000;
    const peakRss = api.peakRssMiB();

    // baseline: the same rows, set-based insert into a structural copy of clients
    const baselineSeconds = await admin(async (c) => {
      await c.query('CREATE TABLE baseline_clients (LIKE clients INCLUDING ALL)');
      const t0 = performance.now();
      for (let i = 0; i < CLIENTS; i += BATCH) {
        const b = rows.slice(i, i + BATCH);
        await c.query(
          `INSERT INTO baseline_clients (id, authorization_server_id, client_id, auth_method, secret_ciphertext, secret_status,
             target_auth_method, target_sender_constraint, target_strategy, owner, tags, phase, state, version, created_at, updated_at)
           SELECT gen_random_uuid(), $1, cid, am, convert_to(s, 'UTF8'), 'present', 'private_key_jwt', sc, st, o,
                  ARRAY(SELECT jsonb_array_elements_text(t)), 'vendor_check', 'pending', 1, now(), now()
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[]) AS u(cid, am, s, sc, st, o, t)`,
          [
            server.id,
            b.map((r) => r.clientId),
            b.map((r) => r.authMethod),
            b.map((r) => r.clientSecret),
            b.map((r) => r.target.senderConstraint),
            b.map((r) => r.target.strategy),
            b.map((r) => r.owner),
            b.map((r) => JSON.stringify(r.tags)),
          ],
        );
      }
      const seconds = (performance.now() - t0) / 1000;
      await c.query('DROP TABLE baseline_clients');
      return seconds;
    }, dbUrl(database));

    // Spread the estate over phases so the phase filter selects a realistic slice.
    await admin(
      (c) =>
        c
          .query(
            `UPDATE clients SET phase = (ARRAY['vendor_check','key_registration','parallel_auth','cutover','secret_revocation','sender_constraint','completed'])[1 + (abs(hashtext(client_id)) % 7)]`,
          )
          .then(() => c.query('ANALYZE clients')),
      dbUrl(database),
    );

    // (b) list with phase + owner filter, over HTTP and directly
    const apiLatencies: number[] = [];
    for (let i = 0; i < LIST_REQUESTS; i++) {
      const t0 = performance.now();
      const res = await fetch(`${api.base}/v1/clients?phase=parallel_auth&owner=owner-${i % OWNERS}&limit=50`, {
        headers,
      });
      const page = (await res.json()) as { items: unknown[] };
      if (res.status !== 200 || page.items.length === 0) throw new Error(`list failed: ${res.status}`);
      apiLatencies.push(performance.now() - t0);
    }
    const sqlLatencies = await admin(async (c) => {
      const out: number[] = [];
      for (let i = 0; i < LIST_REQUESTS; i++) {
        const t0 = performance.now();
        await c.query('SELECT * FROM clients WHERE phase = $1 AND owner = $2 ORDER BY id LIMIT 51', [
          'parallel_auth',
          `owner-${i % OWNERS}`,
        ]);
        out.push(performance.now() - t0);
      }
      return out;
    }, dbUrl(database));
    apiLatencies.sort((a, b) => a - b);
    sqlLatencies.sort((a, b) => a - b);
    const events = await admin((c) => c.query('SELECT count(*)::int AS n FROM audit_events'), dbUrl(database));

    const lines = [
      `import: ${CLIENTS} clients in ${fmt(importSeconds)} s (${fmt(CLIENTS / importSeconds, 0)} clients/s; target < 60 s)`,
      `import: API peak RSS ${fmt(peakRss, 0)} MiB (target < 512 MiB); ${events.rows[0].n} audit events written`,
      `import baseline (bare set-based INSERT, same rows): ${fmt(baselineSeconds, 2)} s; ratio Keyshift/baseline = ${fmt(importSeconds / baselineSeconds, 1)}x`,
      `list phase+owner at ${CLIENTS} rows over HTTP: p50 ${fmt(percentile(apiLatencies, 50), 2)} ms, p95 ${fmt(percentile(apiLatencies, 95), 2)} ms, p99 ${fmt(percentile(apiLatencies, 99), 2)} ms (target p95 < 50 ms)`,
      `list baseline (same SQL via pg): p50 ${fmt(percentile(sqlLatencies, 50), 2)} ms, p95 ${fmt(percentile(sqlLatencies, 95), 2)} ms; ratio p95 API/SQL = ${fmt(percentile(apiLatencies, 95) / percentile(sqlLatencies, 95), 1)}x`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await api.stop();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
