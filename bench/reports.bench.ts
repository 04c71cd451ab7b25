/**
 * Issue 6's figures, against the real API (a child process) on a private database seeded straight
 * through SQL with 100,000 clients (one authorization server, spread over phases, states, owners and
 * tags; a third with keys; three probes each; shredded secrets past revocation) and 1,000,000
 * hash-chained audit events (keyed with the real `ChainHasher` and the APIs' master key, so the chain verifies):
 *   (a) full chain verification, GET /v1/audit/verify?mode=full: wall time, and how long /health
 *       took meanwhile (the event loop must stay free); then an incremental one from its checkpoint.
 *       Baseline: a bare pg script reading the same rows in keyset batches and SHA-256-ing each
 *       row's text, no canonicalisation: the I/O + hashing floor. Then, in this process, the two
 *       ways of keeping the event loop free side by side: hashing in slices on the calling thread,
 *       and on worker threads (the default);
 *   (b) the CSV estate report, GET /v1/reports/estate?format=csv, streamed and counted: wall time
 *       and the API's peak RSS (a fresh API, so VmHWM is this request plus boot). Baseline: psql's
 *       \copy of the clients table as CSV.
 * Prints figures and ratios; asserts nothing. Only talks to 127.0.0.1.
 * Usage: npm run bench:reports   (KEYSHIFT_BENCH_KEEP=1 keeps the seeded database for the next run;
 * BENCH_CLIENTS, BENCH_EVENTS to change the size, BENCH_ONLY=verify|csv for one part)
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { SystemClock } from '@keyshift/common';
import { dataSourceOptions, Transactions } from '@keyshift/database';
import { ChainHasher, GENESIS_HASH } from '@keyshift/features/audit/audit-chain';
import { AuditVerifyService, AuditVerifyTuning } from '@keyshift/features/audit/audit-verify.service';
import { AuditRepository } from '@keyshift/features/audit/audit.repository';
import { deriveAuditKeys, headSealFields, seal } from '@keyshift/features/audit/audit-keys';
import { estateRowsQuery } from '@keyshift/features/reports/estate-rows';
import { admin, dbUrl, fmt, percentile, PG_ADMIN, startApi } from './support';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 100_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const KEEP = process.env.KEYSHIFT_BENCH_KEEP === '1';
/** `verify` or `csv` runs only that part (on a kept database, a quick re-measure). */
const ONLY = process.env.BENCH_ONLY;
const PORT = 3411;
/** One master key for every API this bench starts and for the events it seeds: the audit chain is keyed by it. */
const MASTER_KEY = randomBytes(32);
const AUDIT_KEYS = deriveAuditKeys(MASTER_KEY);
const API_ENV = { KEYSHIFT_MASTER_KEY: MASTER_KEY.toString('base64') };
const EVENT_BATCH = 10_000;
const PHASES = [
  'vendor_check',
  'key_registration',
  'parallel_auth',
  'cutover',
  'secret_revocation',
  'sender_constraint',
  'completed',
];

/** A kept database carries its size in its name, so a run with other sizes seeds its own. */
const database = KEEP
  ? `keyshift_bench_reports_${CLIENTS}_${EVENTS}`
  : `keyshift_bench_reports_${Date.now().toString(36)}`;

const seconds = (t0: number) => (performance.now() - t0) / 1000;

async function databaseExists(): Promise<boolean> {
  return admin(async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1);
}

/** True when a kept database holds a complete seed (the head is written last). */
async function seeded(): Promise<boolean> {
  return admin(async (c) => {
    const r = await c.query(
      `SELECT (SELECT last_seq FROM audit_chain_head WHERE id = 1) AS seq, (SELECT count(*) FROM clients) AS n`,
    );
    return Number(r.rows[0].seq) >= EVENTS && Number(r.rows[0].n) === CLIENTS;
  }, dbUrl(database)).catch(() => false);
}

async function migrate(): Promise<void> {
  // Booting the API applies the migrations (under its advisory lock), as in production.
  const api = await startApi(database, PORT, API_ENV);
  await api.stop();
}

/** Clients, keys and probes, set-based in PostgreSQL. */
async function seedEstate(c: Client): Promise<void> {
  const server = (
    await c.query(
      `INSERT INTO authorization_servers (id, name, issuer, connector_type, jwks_cache_seconds, version, created_at, updated_at,
         discovery_status, capabilities, capabilities_checked_at)
       VALUES (gen_random_uuid(), 'bench-as', 'https://idp.bench.example', 'rfc7592', 300, 1, now(), now(), 'ok',
         '{"tokenEndpointAuthMethods": ["client_secret_basic", "client_secret_post", "private_key_jwt"], "dpop": true}', now())
       RETURNING id`,
    )
  ).rows[0].id as string;
  // Phase by a skewed spread (most of an estate is early or done); state mostly pending/waiting.
  await c.query(
    `INSERT INTO clients (id, authorization_server_id, client_id, auth_method, secret_ciphertext, secret_fingerprint, secret_status,
       registration_access_token_ciphertext, registration_access_token_fingerprint, registration_client_uri,
       target_auth_method, target_sender_constraint, target_strategy, target_cutover, owner, tags, phase, state, paused,
       state_reason, next_check_at, attempts, jwks_id, version, created_at, updated_at, phase_entered_at, registration_state)
     SELECT gen_random_uuid(), $1, 'bench-client-' || g, m.method,
       CASE WHEN shredded THEN NULL ELSE decode(md5(g::text) || md5((g + 1)::text), 'hex') END,
       CASE WHEN shredded THEN NULL ELSE md5('fp' || g) END,
       CASE WHEN shredded THEN 'shredded' ELSE 'present' END,
       decode(md5('rat' || g), 'hex'), md5('ratfp' || g), 'https://idp.bench.example/register/bench-client-' || g,
       'private_key_jwt', CASE WHEN g % 4 = 0 THEN 'none' ELSE 'dpop' END, CASE WHEN g % 10 = 7 THEN 'successor' ELSE 'in_place' END,
       CASE WHEN g % 3 = 0 THEN 'automatic' ELSE 'confirm' END,
       CASE WHEN g % 50 = 0 THEN NULL ELSE 'team-' || (g % 240) END,
       ARRAY['wave-' || (g % 5), CASE WHEN g % 7 = 0 THEN 'partner' ELSE 'internal' END] || CASE WHEN g % 11 = 0 THEN ARRAY['pci'] ELSE ARRAY[]::text[] END,
       p.phase, s.state, g % 97 = 0,
       CASE s.state WHEN 'failed' THEN 'the server refused the key: invalid_client' WHEN 'blocked' THEN 'needs an operator: registration access token rejected' WHEN 'waiting' THEN 'soaking' END,
       CASE WHEN p.phase = 'completed' THEN NULL ELSE now() + (g % 900) * interval '1 second' END,
       CASE s.state WHEN 'failed' THEN 10 ELSE g % 3 END,
       CASE WHEN keyed THEN 'jwks-' || md5('jwks' || g) END,
       1 + p.idx * 3 + g % 3, now() - (g % 200) * interval '1 day', now() - (g % 30) * interval '1 hour',
       now() - (g % 30) * interval '1 hour',
       CASE WHEN keyed THEN jsonb_build_object('keys', jsonb_build_object('delivery', 'jwks_uri', 'jwksUri',
         'https://keyshift.example/jwks/jwks-' || md5('jwks' || g) || '.json', 'kids', jsonb_build_array('kid-' || g || '-1')))
         ELSE '{}'::jsonb END
     FROM generate_series(1, $2::int) AS g
     CROSS JOIN LATERAL (SELECT (ARRAY[0,0,0,0,1,1,1,2,3,4,5,6])[1 + g % 12] AS idx) AS pi
     CROSS JOIN LATERAL (SELECT (ARRAY[${PHASES.map((p) => `'${p}'`).join(',')}])[1 + pi.idx] AS phase, pi.idx) AS p
     CROSS JOIN LATERAL (SELECT CASE WHEN p.phase = 'completed' THEN 'done'
       ELSE (ARRAY['pending','pending','pending','waiting','waiting','running','blocked','failed','done','pending'])[1 + (g / 12) % 10] END AS state) AS s
     CROSS JOIN LATERAL (SELECT CASE WHEN g % 5 < 3 THEN 'client_secret_basic' ELSE 'client_secret_post' END AS method) AS m
     CROSS JOIN LATERAL (SELECT p.idx >= 5 OR (p.idx = 4 AND s.state = 'done') AS shredded) AS sh
     -- A third of the estate holds keys: clients from parallel_auth on, but not all of them yet.
     CROSS JOIN LATERAL (SELECT p.idx >= 2 AND g % 5 <> 0 AS keyed) AS ky`,
    [server, CLIENTS],
  );
  // Keys for the clients with a JWKS: one active, every third also a second one (pending, or retired without its ciphertext).
  await c.query(
    `INSERT INTO client_keys (id, client_row_id, kid, alg, origin, state, public_jwk, private_key_ciphertext, created_at, activated_at, retiring_at, retired_at)
     SELECT gen_random_uuid(), c.id, 'kid-' || substr(c.client_id, 14) || '-' || k, alg, origin, st,
       jsonb_build_object('kty', 'EC', 'crv', 'P-256', 'x', md5(c.client_id || k), 'y', md5(k || c.client_id), 'kid',
         'kid-' || substr(c.client_id, 14) || '-' || k, 'alg', alg, 'use', 'sig'),
       CASE WHEN origin = 'byok' OR st = 'retired' THEN NULL ELSE decode(md5(c.id::text) || md5(c.client_id), 'hex') END,
       c.created_at, CASE WHEN st <> 'pending' THEN c.created_at END, CASE WHEN st IN ('retiring', 'retired') THEN c.updated_at END,
       CASE WHEN st = 'retired' THEN c.updated_at END
     FROM (SELECT id, client_id, created_at, updated_at, row_number() OVER (ORDER BY client_id) AS n FROM clients WHERE jwks_id IS NOT NULL) AS c
     CROSS JOIN LATERAL generate_series(1, CASE WHEN c.n % 3 = 0 THEN 2 ELSE 1 END) AS k
     CROSS JOIN LATERAL (SELECT CASE WHEN c.n % 20 = 0 THEN 'byok' ELSE 'managed' END AS origin,
       (ARRAY['ES256','ES256','ES256','PS256','EdDSA'])[1 + c.n % 5] AS alg,
       CASE WHEN k = 1 THEN 'active' WHEN c.n % 2 = 0 THEN 'retired' ELSE 'pending' END AS st) AS x`,
  );
  // Three probes per client: the current method, and (past key registration) the key.
  await c.query(
    `INSERT INTO probes (id, client_row_id, authorization_server_id, method, dpop, purpose, attempt, via, client_id, kid, outcome,
       error_code, http_status, latency_ms, token_type, token_bound, retry_after_seconds, detail, created_at)
     SELECT gen_random_uuid(), c.id, c.authorization_server_id, method, dpop, (ARRAY['api','sweep','parallel_auth'])[1 + k % 3], 1,
       'token_request', c.client_id, CASE WHEN method = 'private_key_jwt' THEN 'kid-' || substr(c.client_id, 14) || '-1' END,
       outcome, CASE outcome WHEN 'rejected' THEN 'invalid_client' END,
       CASE outcome WHEN 'ok' THEN 200 WHEN 'rejected' THEN 401 WHEN 'rate_limited' THEN 429 WHEN 'server_error' THEN 503 END,
       20 + (hashtext(c.client_id || k) & 255), CASE WHEN outcome = 'ok' THEN CASE WHEN dpop THEN 'DPoP' ELSE 'Bearer' END END,
       CASE WHEN outcome = 'ok' AND dpop THEN true END, CASE WHEN outcome = 'rate_limited' THEN 5 END,
       CASE outcome WHEN 'rejected' THEN 'client authentication failed' END, c.updated_at - k * interval '10 minutes'
     FROM clients c CROSS JOIN generate_series(1, 3) AS k
     CROSS JOIN LATERAL (SELECT CASE WHEN k = 3 AND c.jwks_id IS NOT NULL THEN 'private_key_jwt' ELSE c.auth_method END AS method,
       k = 3 AND c.jwks_id IS NOT NULL AND c.target_sender_constraint = 'dpop' AS dpop,
       (ARRAY['ok','ok','ok','ok','ok','ok','ok','rejected','rate_limited','server_error','timeout','ok'])[1 + (hashtext(c.client_id || k) & 7) + (k - 1)] AS outcome) AS x`,
  );
}

interface SeedClient {
  id: string;
  clientId: string;
  owner: string | null;
  phase: string;
  tags: string[];
}

function summary(c: SeedClient, serverId: string, version: number, phase = c.phase, state = 'pending') {
  return {
    clientId: c.clientId,
    authorizationServerId: serverId,
    authMethod: 'client_secret_basic',
    secret: 'present',
    hasRegistrationAccessToken: true,
    target: { authMethod: 'private_key_jwt', senderConstraint: 'dpop', strategy: 'in_place', cutover: 'confirm' },
    owner: c.owner,
    tags: c.tags,
    phase,
    state,
    paused: false,
    stateReason: state === 'waiting' ? 'soaking: 3 of 5 successful key requests' : null,
    atServer: {
      keys: { delivery: 'jwks_uri', jwksUri: `https://keyshift.example/jwks/${c.id}.json`, kids: [`kid-${c.id}`] },
    },
    successorClientId: null,
    revertPending: false,
    version,
  };
}

/** One event of a realistic mix: transitions (before and after), secret accesses, probes, key events, imports. */
function eventFor(i: number, c: SeedClient, serverId: string) {
  const kind = i % 20;
  const base = { actor: i % 3 ? 'worker' : 'api-token:bootstrap-admin', subjectType: 'client', subjectId: c.id };
  if (kind < 7) {
    const type = (
      ['evidence', 'advance', 'gate_passed', 'retry', 'soak_passed', 'rollback', 'cutover_confirmed'] as const
    )[i % 7];
    return {
      ...base,
      action: `client.${type}`,
      before: summary(c, serverId, i % 9, c.phase, 'running'),
      after: {
        ...summary(c, serverId, (i % 9) + 1, c.phase, i % 2 ? 'waiting' : 'pending'),
        event: { type, at: new Date(1_760_000_000_000 + i * 1000).toISOString(), ok: i % 5 !== 0 },
        effects: i % 4 ? [] : [{ type: 'shred_secret' }, { type: 'probe', method: 'private_key_jwt', dpop: true }],
      },
    };
  }
  if (kind < 15)
    return { ...base, action: 'client.secret_accessed', before: null, after: { field: 'secret', purpose: 'probe' } };
  if (kind < 17)
    return {
      ...base,
      action: 'client.probe_requested',
      before: null,
      after: { method: i % 2 ? 'client_secret_post' : 'private_key_jwt', dpop: i % 3 === 0, latencyMs: 17 + (i % 200) },
    };
  if (kind < 19)
    return {
      ...base,
      subjectType: 'client_key',
      action: (['client_key.created', 'client_key.activated', 'client_key.retiring'] as const)[i % 3],
      before: null,
      after: { clientId: c.id, kid: `kid-${c.id}-${i % 2}`, alg: 'ES256', state: 'active', thumbprint: `t-${i}` },
    };
  return { ...base, action: 'client.imported', before: null, after: summary(c, serverId, 1, 'vendor_check') };
}

/** 1M chained events: hashed in JS with the real ChainHasher, inserted 10k per statement, two statements in flight. */
async function seedEvents(url: string): Promise<void> {
  const clients = await admin(async (c) => {
    const r = await c.query(
      'SELECT id, client_id, owner, phase, tags, authorization_server_id FROM clients ORDER BY client_id',
    );
    return r.rows as {
      id: string;
      client_id: string;
      owner: string | null;
      phase: string;
      tags: string[];
      authorization_server_id: string;
    }[];
  }, url);
  const serverId = clients[0].authorization_server_id;
  const subjects: SeedClient[] = clients.map((r) => ({
    id: r.id,
    clientId: r.client_id,
    owner: r.owner,
    phase: r.phase,
    tags: r.tags,
  }));
  const conns = await Promise.all(
    [0, 1].map(async () => {
      const c = new Client({ connectionString: url });
      await c.connect();
      await c.query('SET synchronous_commit = off');
      return c;
    }),
  );
  // Secondary indexes are rebuilt once at the end (from their own definitions): cheaper than maintaining them row by row.
  const indexes = (
    await conns[0].query(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_events' AND indexname NOT LIKE 'PK_%'`,
    )
  ).rows as { indexname: string; indexdef: string }[];
  for (const i of indexes) await conns[0].query(`DROP INDEX "${i.indexname}"`);
  try {
    const head = (await conns[0].query('SELECT last_seq, last_hash, keyed_from FROM audit_chain_head WHERE id = 1'))
      .rows[0];
    // Keyed as AuditLog.append keys them (from the head's keyed_from, or from here on a chain never appended to).
    const keyedFrom = String(head.keyed_from ?? Number(head.last_seq) + 1);
    const hasher = new ChainHasher(AUDIT_KEYS.chain, keyedFrom);
    let seq = Number(head.last_seq);
    let prevHash = head.last_hash as string;
    const startMs = Date.now() - 90 * 86_400_000;
    const inFlight: Promise<unknown>[] = [];
    for (let done = 0; done < EVENTS; done += EVENT_BATCH) {
      const n = Math.min(EVENT_BATCH, EVENTS - done);
      const cols = {
        seq: [] as string[],
        at: [] as Date[],
        actor: [] as string[],
        action: [] as string[],
        st: [] as string[],
      };
      const more = { sid: [] as string[], before: [] as (string | null)[], after: [] as (string | null)[] };
      const hashes = { prev: [] as string[], hash: [] as string[] };
      for (let k = 0; k < n; k++) {
        seq++;
        const e = eventFor(seq, subjects[seq % subjects.length], serverId);
        // Round-tripped through JSON, as AuditLog.append does, so the hash is that of what jsonb returns.
        const before = e.before && (JSON.parse(JSON.stringify(e.before)) as Record<string, unknown>);
        const after = e.after && (JSON.parse(JSON.stringify(e.after)) as Record<string, unknown>);
        const occurredAt = new Date(startMs + Math.floor((seq * 90 * 86_400_000) / (EVENTS + 1)));
        const hash = hasher.hash({ ...e, seq: String(seq), occurredAt, before, after, prevHash });
        cols.seq.push(String(seq));
        cols.at.push(occurredAt);
        cols.actor.push(e.actor);
        cols.action.push(e.action);
        cols.st.push(e.subjectType);
        more.sid.push(e.subjectId);
        more.before.push(before && JSON.stringify(before));
        more.after.push(after && JSON.stringify(after));
        hashes.prev.push(prevHash);
        hashes.hash.push(hash);
        prevHash = hash;
      }
      if (inFlight.length === conns.length) await inFlight.shift();
      const conn = conns[(done / EVENT_BATCH) % conns.length];
      inFlight.push(
        conn.query(
          `INSERT INTO audit_events (seq, occurred_at, actor, action, subject_type, subject_id, before, after, prev_hash, hash)
           SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::jsonb[], $9::text[], $10::text[])`,
          [
            cols.seq,
            cols.at,
            cols.actor,
            cols.action,
            cols.st,
            more.sid,
            more.before,
            more.after,
            hashes.prev,
            hashes.hash,
          ],
        ),
      );
    }
    await Promise.all(inFlight);
    await Promise.all(indexes.map((i, k) => conns[k % conns.length].query(i.indexdef)));
    const tip = { seq: String(seq), hash: prevHash, keyedFrom };
    await conns[0].query(
      'UPDATE audit_chain_head SET last_seq = $1, last_hash = $2, keyed_from = $3, seal = $4 WHERE id = 1',
      [tip.seq, tip.hash, tip.keyedFrom, seal(AUDIT_KEYS.seal, 'audit-head', headSealFields(tip))],
    );
  } finally {
    await Promise.all(conns.map((c) => c.end()));
  }
}

async function seed(): Promise<string> {
  if (KEEP && (await databaseExists())) {
    if (await seeded()) return `reusing ${database} (KEYSHIFT_BENCH_KEEP=1)`;
    await admin((c) => c.query(`DROP DATABASE "${database}" WITH (FORCE)`));
  }
  await admin((c) => c.query(`CREATE DATABASE "${database}"`));
  const t0 = performance.now();
  await migrate();
  const url = dbUrl(database);
  const tEstate = performance.now();
  await admin(seedEstate, url);
  const estateSeconds = seconds(tEstate);
  const tEvents = performance.now();
  await seedEvents(url);
  const eventsSeconds = seconds(tEvents);
  // Hint bits and statistics now, so the first measured read does not pay for them.
  await admin((c) => c.query('VACUUM ANALYZE'), url);
  const counts = await admin(
    async (c) =>
      (
        await c.query(
          `SELECT (SELECT count(*) FROM clients) AS clients, (SELECT count(*) FROM client_keys) AS keys,
             (SELECT count(DISTINCT client_row_id) FROM client_keys) AS keyed, (SELECT count(*) FROM probes) AS probes,
             (SELECT count(*) FROM clients WHERE secret_status = 'shredded') AS shredded,
             pg_size_pretty(pg_total_relation_size('audit_events')) AS audit_size`,
        )
      ).rows[0] as Record<string, string>,
    url,
  );
  return (
    `seeded ${counts.clients} clients (${counts.keyed} with ${counts.keys} keys, ${counts.shredded} shredded), ` +
    `${counts.probes} probes in ${fmt(estateSeconds)} s; ${EVENTS} audit events (${counts.audit_size}) in ${fmt(eventsSeconds)} s; ` +
    `total with migrations and VACUUM ${fmt(seconds(t0))} s`
  );
}

/** The floor: the same rows read in keyset batches, unparsed, each row's text SHA-256'd; no canonical JSON. */
async function verifyBaseline(url: string): Promise<{ seconds: number; rows: number }> {
  const c = new Client({ connectionString: url, types: { getTypeParser: () => (v: string) => v } });
  await c.connect();
  try {
    const t0 = performance.now();
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    let after = '0';
    let rows = 0;
    let prev = GENESIS_HASH;
    for (;;) {
      const r = await c.query({
        text: `SELECT seq, occurred_at, actor, action, subject_type, subject_id, before, after, prev_hash, hash
               FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT 10000`,
        values: [after],
        rowMode: 'array',
      });
      for (const row of r.rows as string[][]) {
        prev = createHash('sha256').update(row.join('|'), 'utf8').digest('hex');
      }
      rows += r.rows.length;
      if (r.rows.length < 10_000) break;
      after = (r.rows[r.rows.length - 1] as string[])[0];
    }
    await c.query('COMMIT');
    if (prev.length !== 64) throw new Error('unreachable');
    return { seconds: seconds(t0), rows };
  } finally {
    await c.end();
  }
}

/** Polls /health every 20 ms while `work` runs: how long another request waits behind the verification. */
async function withHealthProbe<T>(base: string, work: Promise<T>): Promise<{ result: T; latencies: number[] }> {
  const latencies: number[] = [];
  let running = true;
  const probing = (async () => {
    while (running) {
      const t0 = performance.now();
      await fetch(`${base}/health`).then((r) => r.arrayBuffer());
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    return { result: await work, latencies };
  } finally {
    running = false;
    await probing;
  }
}

interface VerifyBody {
  ok: boolean;
  mode: string;
  fromSeq: string;
  eventsChecked: number;
  durationMs: number;
  tip: { seq: string };
  firstBreak: unknown;
  startedFrom: { seq: string } | null;
}

async function verifyFigures(lines: string[]): Promise<void> {
  const api = await startApi(database, PORT, API_ENV);
  try {
    const headers = { Authorization: `Bearer ${api.token}` };
    const call = async (query: string) => {
      const t0 = performance.now();
      const res = await fetch(`${api.base}/v1/audit/verify${query}`, { headers });
      const body = (await res.json()) as VerifyBody;
      if (res.status !== 200) throw new Error(`verify${query}: HTTP ${res.status} ${JSON.stringify(body)}`);
      return { seconds: seconds(t0), body };
    };
    const { result: full, latencies } = await withHealthProbe(api.base, call('?mode=full'));
    const incremental = await call('');
    const baseline = await verifyBaseline(dbUrl(database));
    latencies.sort((a, b) => a - b);
    const b = full.body;
    lines.push(
      `verify full: ${b.eventsChecked} events in ${fmt(full.seconds, 2)} s over HTTP (service ${fmt(b.durationMs / 1000, 2)} s; ` +
        `${fmt(b.eventsChecked / full.seconds, 0)} events/s; ok=${b.ok}; target < 20 s)`,
      `verify full: /health meanwhile p50 ${fmt(percentile(latencies, 50), 1)} ms, p99 ${fmt(percentile(latencies, 99), 1)} ms, ` +
        `max ${fmt(latencies[latencies.length - 1], 1)} ms over ${latencies.length} requests`,
      `verify baseline (pg keyset batches, SHA-256 of each row's text, no canonical JSON): ${baseline.rows} rows in ` +
        `${fmt(baseline.seconds, 2)} s; ratio Keyshift/baseline = ${fmt(full.seconds / baseline.seconds, 2)}x`,
      `verify incremental right after: ${incremental.body.eventsChecked} events from checkpoint ` +
        `${incremental.body.startedFrom?.seq ?? 'none'} in ${fmt(incremental.seconds * 1000, 1)} ms (ok=${incremental.body.ok})`,
    );
  } finally {
    await api.stop();
  }
  // The two ways of keeping the event loop free, side by side, in this process (no HTTP).
  const threaded = await verifyInProcess({ workerScript: null });
  const pooled = await verifyInProcess({});
  lines.push(
    `verify full in-process, hashing on the calling thread in 10 ms slices: ${fmt(threaded.seconds, 2)} s ` +
      `(event loop delayed up to ${fmt(threaded.maxDelayMs, 0)} ms); on ${Math.min(4, availableParallelism())} worker threads ` +
      `(the default): ${fmt(pooled.seconds, 2)} s (delayed up to ${fmt(pooled.maxDelayMs, 0)} ms)`,
  );
}

async function verifyInProcess(tuning: Partial<AuditVerifyTuning>): Promise<{ seconds: number; maxDelayMs: number }> {
  const dataSource = await new DataSource(dataSourceOptions(dbUrl(database), 2)).initialize();
  let maxDelayMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxDelayMs = Math.max(maxDelayMs, now - last - 10);
    last = now;
  }, 10);
  try {
    const t0 = performance.now();
    const verifier = new AuditVerifyService(
      new AuditRepository(dataSource),
      new Transactions(dataSource),
      new SystemClock(),
      AUDIT_KEYS,
      tuning,
    );
    const report = await verifier.verify({ mode: 'full' });
    if (!report.ok) throw new Error(`verify in-process: ${JSON.stringify(report.firstBreak)}`);
    return { seconds: seconds(t0), maxDelayMs };
  } finally {
    clearInterval(timer);
    await dataSource.destroy();
  }
}

/** Streams a response body, counting bytes and lines without keeping it. */
async function drain(body: ReadableStream<Uint8Array>): Promise<{ bytes: number; lines: number }> {
  let bytes = 0;
  let lines = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
  }
  return { bytes, lines };
}

async function csvBaseline(select: string): Promise<{ seconds: number; bytes: number; lines: number }> {
  const url = new URL(dbUrl(database));
  const t0 = performance.now();
  const psql = spawn(
    'psql',
    [
      '-X',
      '-q',
      '-h',
      url.hostname,
      '-p',
      url.port || '5432',
      '-U',
      decodeURIComponent(url.username || 'postgres'),
      '-d',
      database,
      '-c',
      `\\copy (${select}) TO STDOUT WITH CSV`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let bytes = 0;
  let lines = 0;
  psql.stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
  });
  const code = await new Promise<number | null>((r) => psql.once('close', r));
  if (code !== 0) throw new Error(`psql exited with ${code}`);
  return { seconds: seconds(t0), bytes, lines };
}

async function csvFigures(lines: string[]): Promise<void> {
  // A fresh API: VmHWM is then this request's peak plus boot, not the verification's.
  const api = await startApi(database, PORT, API_ENV);
  try {
    const bootRss = api.peakRssMiB();
    const t0 = performance.now();
    const res = await fetch(`${api.base}/v1/reports/estate?format=csv`, {
      headers: { Authorization: `Bearer ${api.token}` },
    });
    if (res.status === 404) {
      await res.arrayBuffer();
      lines.push(
        'csv estate report: GET /v1/reports/estate?format=csv answered 404: the route does not exist yet; not measured',
      );
      return;
    }
    if (res.status !== 200 || !res.body) throw new Error(`estate csv: HTTP ${res.status} ${await res.text()}`);
    const got = await drain(res.body);
    const wall = seconds(t0);
    const peak = api.peakRssMiB();
    const bare = await csvBaseline('SELECT * FROM clients');
    // The report's own query, run by psql: the database's share of the work, without the API.
    const { sql } = estateRowsQuery({}, new Date());
    const same = await csvBaseline(sql.replace(/\$1::timestamptz/g, 'now()').replace(/\s+/g, ' '));
    lines.push(
      `csv estate report: ${got.lines} lines, ${fmt(got.bytes / 1_048_576, 1)} MiB in ${fmt(wall, 2)} s (target < 30 s); ` +
        `API peak RSS ${fmt(peak, 0)} MiB (VmHWM, boot alone ${fmt(bootRss, 0)} MiB; target < 300 MB)`,
      `csv baseline 1 (psql \\copy of the clients table): ${bare.lines} lines, ${fmt(bare.bytes / 1_048_576, 1)} MiB in ` +
        `${fmt(bare.seconds, 2)} s; ratio Keyshift/baseline = ${fmt(wall / bare.seconds, 1)}x`,
      `csv baseline 2 (psql \\copy of the report's own query): ${same.lines} lines, ${fmt(same.bytes / 1_048_576, 1)} MiB in ` +
        `${fmt(same.seconds, 2)} s; ratio Keyshift/baseline = ${fmt(wall / same.seconds, 1)}x`,
    );
  } finally {
    await api.stop();
  }
}

async function main(): Promise<void> {
  if (!/^postgres(ql)?:\/\/([^@]*@)?(127\.0\.0\.1|localhost)(:\d+)?\//.test(PG_ADMIN))
    throw new Error('the bench only talks to 127.0.0.1');
  const lines: string[] = [];
  try {
    lines.push(await seed());
    process.stdout.write(`${lines[0]}\n`);
    if (ONLY !== 'csv') await verifyFigures(lines);
    if (ONLY !== 'verify') await csvFigures(lines);
    process.stdout.write(lines.slice(1).join('\n') + '\n');
  } finally {
    if (!KEEP) await admin((c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
