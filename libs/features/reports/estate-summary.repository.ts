import { Phase, PHASE_ORDER, PhaseState } from '@keyshift/domain';
import type { PoolClient } from 'pg';
import QueryStream from 'pg-query-stream';
import { ROTATION_PERIOD_DAYS_SQL } from '../keys/rotation-policy';
import { checkpointSealFields, sealMatches } from '../audit/audit-keys';
import { lastVerifyOutcome } from '../audit/audit-verify-outcome';
import { controlFindings } from './estate-controls';
import { estateWhere } from './estate-filter';
import { estateRowsQuery } from './estate-rows';
import { CountBucket, EstateFailure, EstateFilter, EstateSummary } from './estate-summary';

/** Anything that runs SQL: a QueryRunner inside the report's snapshot, or an EntityManager. */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** How many failures the summary lists by name; the CSV lists them all. */
export const SUMMARY_FAILURES = 50;
/** Days of history in the "secrets remaining" series. */
export const HISTORY_DAYS = 90;

const DAY_MS = 86_400_000;
const KEY_AUTHENTICATED_PHASES = [Phase.SecretRevocation, Phase.SenderConstraint, Phase.Completed];

/**
 * The summary on top of an estate report: a handful of aggregate queries over the filtered
 * clients, each one index- or scan-bound, never a row per client in memory.
 */
export async function loadEstateSummary(
  db: Queryable,
  filter: EstateFilter,
  now: Date,
  /** The audit seal key: an outcome of a full verification is reported only if its seal matches. */
  auditSealKey: Buffer,
): Promise<EstateSummary> {
  const params: unknown[] = [];
  const where = estateWhere(filter, params);
  // One after another: they share the snapshot's single connection, which runs one query at a time anyway.
  const phaseRows = await phaseCounts(db, where, params);
  const ageRow = await secretAgeCounts(db, where, params, now);
  const keyRow = await keyAgeCounts(db, where, params, now);
  const failures = await failureList(db, where, params);
  const days = await secretHistory(db, where, params, now);
  const verified = await lastVerification(db, auditSealKey);
  const auditVerification = await lastVerifyOutcome(db, auditSealKey);

  const count = (p: (r: PhaseRow) => boolean) => phaseRows.filter(p).reduce((n, r) => n + r.n, 0);
  const totals = {
    clients: count(() => true),
    onSharedSecret: sumOf(phaseRows, 'on_secret'),
    secretsRevoked: sumOf(phaseRows, 'revoked'),
    keyAuthenticated: count(
      (r) => KEY_AUTHENTICATED_PHASES.includes(r.phase) || (r.phase === Phase.Cutover && r.state === PhaseState.Done),
    ),
    senderConstrained: sumOf(phaseRows, 'dpop_bound'),
    completed: count((r) => r.phase === Phase.Completed),
    failed: count((r) => r.state === PhaseState.Failed),
    blocked: count((r) => r.state === PhaseState.Blocked),
    keysPastRotation: keyRow.past_rotation,
  };
  const phases = PHASE_ORDER.map((phase) => {
    const rows = phaseRows.filter((r) => r.phase === phase);
    return {
      phase,
      count: rows.reduce((n, r) => n + r.n, 0),
      byState: Object.fromEntries(rows.map((r) => [r.state, r.n])),
    };
  });
  const secretAges = bucketsOf(ageRow, SECRET_AGE_BUCKETS);
  return {
    generatedAt: now.toISOString(),
    filter,
    totals,
    phases,
    secretAges,
    secretsRemaining: days,
    keyAges: bucketsOf(keyRow, KEY_AGE_BUCKETS),
    failures: failures.items,
    failuresTotal: failures.total,
    auditVerification,
    controls: controlFindings({ totals, secretAges, lastVerified: verified, auditVerification }),
  };
}

interface PhaseRow {
  phase: Phase;
  state: PhaseState;
  n: number;
  on_secret: number;
  revoked: number;
  dpop_bound: number;
}

const sumOf = (rows: PhaseRow[], key: 'on_secret' | 'revoked' | 'dpop_bound') => rows.reduce((n, r) => n + r[key], 0);

async function phaseCounts(db: Queryable, where: string, params: unknown[]): Promise<PhaseRow[]> {
  // Sender-constrained means proven: the DPoP gate passed (sender_constraint done, or completed with a DPoP target).
  return (await db.query(
    `SELECT c.phase, c.state, count(*)::int AS n,
       count(*) FILTER (WHERE c.secret_status = 'present')::int AS on_secret,
       count(*) FILTER (WHERE c.secret_status = 'shredded')::int AS revoked,
       count(*) FILTER (WHERE c.target_sender_constraint = 'dpop'
         AND (c.phase = 'completed' OR (c.phase = 'sender_constraint' AND c.state = 'done')))::int AS dpop_bound
     FROM clients c WHERE ${where} GROUP BY c.phase, c.state`,
    params,
  )) as PhaseRow[];
}

interface BucketSpec {
  key: string;
  label: string;
  fromDays: number;
}

const SECRET_AGE_BUCKETS: BucketSpec[] = [
  { key: 'd30', label: 'under 30 days', fromDays: 0 },
  { key: 'd90', label: '30-90 days', fromDays: 30 },
  { key: 'd180', label: '90-180 days', fromDays: 90 },
  { key: 'd365', label: '180-365 days', fromDays: 180 },
  { key: 'older', label: '365 days or more', fromDays: 365 },
];

const KEY_AGE_BUCKETS: BucketSpec[] = [
  { key: 'd30', label: 'under 30 days', fromDays: 0 },
  { key: 'd60', label: '30-60 days', fromDays: 30 },
  { key: 'd90', label: '60-90 days', fromDays: 60 },
  { key: 'd180', label: '90-180 days', fromDays: 90 },
  { key: 'older', label: '180 days or more', fromDays: 180 },
];

const bucketsOf = (row: Record<string, number>, specs: BucketSpec[]): CountBucket[] =>
  specs.map((b) => ({ label: b.label, fromDays: b.fromDays, count: row[b.key] ?? 0 }));

/** Age buckets of `column` against `now` ($n), as FILTER clauses over the given day limits. */
function ageFilters(column: string, nowParam: string, limits: [string, number][]): string {
  const age = `(${nowParam}::timestamptz - ${column})`;
  const parts = limits.map(([key, days], i) => {
    const lower = i === 0 ? '' : `${age} >= interval '${limits[i - 1][1]} days' AND `;
    return `count(*) FILTER (WHERE ${lower}${age} < interval '${days} days')::int AS ${key}`;
  });
  const last = limits[limits.length - 1][1];
  return [...parts, `count(*) FILTER (WHERE ${age} >= interval '${last} days')::int AS older`].join(',\n');
}

/**
 * Age of a secret: since its issue date where the import gave one (`secretIssuedAt`, e.g. from a
 * vault), else since Keyshift first knew it: not every server's RFC 7592 read says when it issued one.
 */
async function secretAgeCounts(db: Queryable, where: string, params: unknown[], now: Date) {
  const p = [...params, now];
  const [row] = (await db.query(
    `SELECT ${ageFilters('coalesce(c.secret_issued_at, c.created_at)', `$${p.length}`, [
      ['d30', 30],
      ['d90', 90],
      ['d180', 180],
      ['d365', 365],
    ])}
     FROM clients c WHERE ${where} AND c.secret_status = 'present'`,
    p,
  )) as Record<string, number>[];
  return row;
}

async function keyAgeCounts(db: Queryable, where: string, params: unknown[], now: Date) {
  const p = [...params, now];
  const nowParam = `$${p.length}`;
  const [row] = (await db.query(
    `SELECT ${ageFilters('coalesce(k.activated_at, k.created_at)', nowParam, [
      ['d30', 30],
      ['d60', 60],
      ['d90', 90],
      ['d180', 180],
    ])},
       count(*) FILTER (WHERE ${nowParam}::timestamptz - coalesce(k.activated_at, k.created_at)
         >= make_interval(days => ${ROTATION_PERIOD_DAYS_SQL}))::int AS past_rotation
     FROM client_keys k
     JOIN clients c ON c.id = k.client_row_id
     JOIN authorization_servers s ON s.id = c.authorization_server_id
     WHERE ${where} AND k.state = 'active'`,
    p,
  )) as Record<string, number>[];
  return row;
}

async function failureList(
  db: Queryable,
  where: string,
  params: unknown[],
): Promise<{ items: EstateFailure[]; total: number }> {
  const rows = (await db.query(
    `SELECT c.id, c.client_id, c.phase, c.state, c.state_reason, c.updated_at, count(*) OVER ()::int AS total
     FROM clients c WHERE ${where} AND c.state IN ('failed', 'blocked')
     ORDER BY c.updated_at, c.id LIMIT ${SUMMARY_FAILURES}`,
    params,
  )) as {
    id: string;
    client_id: string;
    phase: string;
    state: 'failed' | 'blocked';
    state_reason: string | null;
    updated_at: Date;
    total: number;
  }[];
  return {
    total: rows[0]?.total ?? 0,
    items: rows.map((r) => ({
      id: r.id,
      clientId: r.client_id,
      phase: r.phase,
      state: r.state,
      reason: r.state_reason,
      since: r.updated_at.toISOString(),
    })),
  };
}

/**
 * Clients holding a shared secret at the end of each of the last HISTORY_DAYS days: those known
 * by then minus those revoked by then, from two per-day histograms rather than a scan per day.
 */
async function secretHistory(db: Queryable, where: string, params: unknown[], now: Date) {
  const end = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) + DAY_MS;
  const start = end - HISTORY_DAYS * DAY_MS;
  const p = [...params, new Date(start)];
  const startParam = `$${p.length}`;
  const rows = (await db.query(
    `SELECT greatest(0, floor(extract(epoch FROM (t.at - ${startParam}::timestamptz)) / 86400))::int AS day,
       count(*) FILTER (WHERE t.kind = 'known')::int AS known, count(*) FILTER (WHERE t.kind = 'revoked')::int AS revoked
     FROM (
       SELECT c.created_at AS at, 'known' AS kind FROM clients c WHERE ${where}
       UNION ALL
       SELECT c.secret_revoked_at, 'revoked' FROM clients c WHERE ${where} AND c.secret_revoked_at IS NOT NULL
     ) t GROUP BY 1`,
    p,
  )) as { day: number; known: number; revoked: number }[];
  const delta = new Array<number>(HISTORY_DAYS).fill(0);
  for (const r of rows) if (r.day < HISTORY_DAYS) delta[r.day] += r.known - r.revoked;
  let remaining = 0;
  return delta.map((d, i) => {
    remaining += d;
    return { date: new Date(start + i * DAY_MS).toISOString().slice(0, 10), remaining };
  });
}

/** The newest checkpoint Keyshift sealed (a checkpoint whose seal does not match is not reported: verify names it). */
async function lastVerification(db: Queryable, sealKey: Buffer): Promise<{ seq: string; at: string } | null> {
  const [row] = (await db.query(
    `SELECT seq::text AS seq, hash, verified_at, seal FROM audit_checkpoints WHERE seal IS NOT NULL
     ORDER BY audit_checkpoints.seq DESC LIMIT 1`,
  )) as { seq: string; hash: string; verified_at: Date; seal: string }[];
  if (!row) return null;
  const fields = checkpointSealFields({ seq: row.seq, hash: row.hash, verifiedAt: row.verified_at });
  return sealMatches(sealKey, 'audit-checkpoint', fields, row.seal)
    ? { seq: row.seq, at: row.verified_at.toISOString() }
    : null;
}

/**
 * The estate's rows through a server-side cursor on the snapshot's own connection (pg-query-stream,
 * `batchSize` rows a fetch): memory stays flat and a slow reader slows the cursor. The caller
 * destroys the stream when done.
 */
export function streamEstateRows(client: PoolClient, filter: EstateFilter, now: Date, batchSize: number): QueryStream {
  const { sql, params } = estateRowsQuery(filter, now);
  return client.query(new QueryStream(sql, params, { batchSize, highWaterMark: batchSize }));
}
