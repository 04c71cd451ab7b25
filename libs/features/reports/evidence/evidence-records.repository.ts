import { PHASE_ORDER } from '@keyshift/domain';
import type { CampaignFailureRow } from '../../campaigns/campaigns.repository';
import { AuditEventRow, AuditEventView, auditEventView } from '../../audit/audit-log.service';
import { Queryable } from '../estate-summary.repository';

/**
 * The records an evidence pack quotes, read with plain SQL: the client or campaign, audit events
 * exactly as stored (so a reviewer can recompute each hash), the probes they cite, and the chain's
 * state at issue. Functions over the caller's read snapshot (`db`, its QueryRunner) rather than an
 * injected class: every read of one pack must see the same moment.
 */

/** An audit event exactly as stored, so a reviewer can recompute its hash. */
export type AuditRecord = AuditEventView;

/** A probe as packs quote it: the columns under their API names (`at` serialises as ISO 8601). */
export interface ProbeRecord {
  id: string;
  clientId: string | null;
  method: string;
  dpop: boolean;
  via: string;
  purpose: string;
  kid: string | null;
  outcome: string;
  errorCode: string | null;
  httpStatus: number | null;
  tokenType: string | null;
  tokenBound: boolean | null;
  detail: string | null;
  at: Date;
}

/**
 * How each event's hash is made, stated in the pack. The hash is keyed, so that nobody without the
 * master key can rewrite the chain: a reviewer checks the pack by its signature and the links by
 * prevHash, and the hashes with the key holder (GET /v1/audit/verify).
 */
export const HASH_RULE =
  'hash = lowercase hex HMAC-SHA-256 of the RFC 8785 (JCS) canonical JSON of ' +
  '{seq, occurredAt, actor, action, subjectType, subjectId, before, after, prevHash}, keyed with ' +
  "HKDF-SHA-256(master key, salt empty, info 'keyshift audit chain v1', 32 bytes); events written before " +
  "the chain was keyed (seq below the head's keyed_from) use unkeyed SHA-256; " +
  "prevHash is the previous event's hash (64 zeros for event 1)";

/** Secret accesses are many (every probe with the secret); packs give their count, not each one. */
export const SECRET_ACCESS = 'client.secret_accessed';

/** Probes made as a phase's evidence (purpose = the phase), not ad-hoc or sweep probes. */
const EVIDENCE_PURPOSES = PHASE_ORDER as readonly string[];
const MAX_PROBES = 2_000;

export async function subjectEvents(db: Queryable, subjectType: string, ids: string[]): Promise<AuditRecord[]> {
  const rows = (await db.query(
    `SELECT seq::text AS seq, occurred_at, actor, action, subject_type, subject_id, before, after, prev_hash, hash
     FROM audit_events WHERE subject_type = $1 AND subject_id = ANY($2::text[]) AND action <> $3 ORDER BY audit_events.seq`,
    [subjectType, ids, SECRET_ACCESS],
  )) as AuditEventRow[];
  return rows.map(auditEventView);
}

export async function secretAccesses(db: Queryable, clientRowId: string) {
  const [row] = (await db.query(
    `SELECT count(*)::int AS count, min(occurred_at) AS first, max(occurred_at) AS last FROM audit_events
     WHERE subject_type = 'client' AND subject_id = $1 AND action = $2`,
    [clientRowId, SECRET_ACCESS],
  )) as { count: number; first: Date | null; last: Date | null }[];
  return { count: row.count, first: row.first?.toISOString() ?? null, last: row.last?.toISOString() ?? null };
}

/** The probe a transition cites as its evidence, if any. */
export function citedProbeId(event: AuditRecord): string | null {
  const evidence = (event.after?.event as { evidence?: { probeId?: unknown } } | undefined)?.evidence;
  return typeof evidence?.probeId === 'string' ? evidence.probeId : null;
}

const PROBE_COLUMNS = `id, client_id AS "clientId", method, dpop, via, purpose, kid, outcome, error_code AS "errorCode",
  http_status AS "httpStatus", token_type AS "tokenType", token_bound AS "tokenBound", detail, created_at AS at`;

/**
 * Every probe a transition cites, always; beside them, the newest MAX_PROBES other phase-evidence
 * probes of these clients (a long soak makes many), and how many older ones were left out.
 */
export async function evidenceProbes(
  db: Queryable,
  clientRowIds: string[],
  cited: string[],
): Promise<{ probes: ProbeRecord[]; omitted: number }> {
  const citedProbes = (await db.query(`SELECT ${PROBE_COLUMNS} FROM probes WHERE id = ANY($1::uuid[])`, [
    cited,
  ])) as ProbeRecord[];
  const others = (await db.query(
    `SELECT ${PROBE_COLUMNS}, count(*) OVER ()::int AS total FROM probes
     WHERE client_row_id = ANY($1::uuid[]) AND purpose = ANY($2::text[]) AND NOT (id = ANY($3::uuid[]))
     ORDER BY created_at DESC LIMIT ${MAX_PROBES}`,
    [clientRowIds, EVIDENCE_PURPOSES, cited],
  )) as (ProbeRecord & { total: number })[];
  const omitted = others.length ? others[0].total - others.length : 0;
  const probes = [...citedProbes, ...others.map(({ total: _total, ...p }) => p)].sort(
    (a, b) => a.at.getTime() - b.at.getTime() || a.id.localeCompare(b.id),
  );
  return { probes, omitted };
}

/** The chain's head at issue and the newest successful verification, for the pack's `chain` member. */
export async function chainState(db: Queryable) {
  const [head] = (await db.query(
    'SELECT last_seq::text AS seq, last_hash AS hash FROM audit_chain_head WHERE id = 1',
  )) as { seq: string; hash: string }[];
  const [checkpoint] = (await db.query(
    'SELECT seq::text AS seq, hash, verified_at, mode FROM audit_checkpoints WHERE seal IS NOT NULL ORDER BY audit_checkpoints.seq DESC LIMIT 1',
  )) as { seq: string; hash: string; verified_at: Date; mode: string }[];
  return {
    hashRule: HASH_RULE,
    head,
    lastVerified: checkpoint
      ? { seq: checkpoint.seq, hash: checkpoint.hash, at: checkpoint.verified_at.toISOString(), mode: checkpoint.mode }
      : null,
  };
}

/** The client a pack is about, with its server; undefined if there is none. */
export async function packClient(db: Queryable, id: string): Promise<Record<string, unknown> | undefined> {
  const [client] = (await db.query(
    `SELECT c.id, c.client_id, c.owner, c.tags, c.phase, c.state, c.state_reason, c.auth_method,
       c.target_auth_method, c.target_sender_constraint, c.target_strategy, c.successor_client_id,
       c.secret_status, c.secret_revoked_at, c.secret_revocation_probe_id, c.campaign_id, c.created_at,
       s.id AS server_id, s.name AS server_name, s.issuer
     FROM clients c JOIN authorization_servers s ON s.id = c.authorization_server_id WHERE c.id = $1`,
    [id],
  )) as Record<string, unknown>[];
  return client;
}

/** The client's keys (public facts only), oldest first. */
export async function packClientKeys(db: Queryable, id: string): Promise<Record<string, unknown>[]> {
  return (await db.query(
    `SELECT kid, alg, origin, state, created_at AS "createdAt", activated_at AS "activatedAt",
       retiring_at AS "retiringAt", retired_at AS "retiredAt"
     FROM client_keys WHERE client_row_id = $1 ORDER BY created_at`,
    [id],
  )) as Record<string, unknown>[];
}

/** The campaign a pack is about; undefined if there is none. */
export async function packCampaign(db: Queryable, id: string): Promise<Record<string, unknown> | undefined> {
  const [campaign] = (await db.query(
    `SELECT id, name, selector, canary_size, wave_size, max_failure_rate, server_budget_per_second, status,
       paused_reason, released_wave, wave_count, member_count, created_by, created_at, finished_at
     FROM campaigns WHERE id = $1`,
    [id],
  )) as Record<string, unknown>[];
  return campaign;
}

/** A member as a campaign pack quotes it: the campaign's own member row, with the secret's fate. */
export interface CampaignMemberRecord extends CampaignFailureRow {
  secret_status: string;
  secret_revoked_at: Date | null;
  secret_revocation_probe_id: string | null;
}

/** The campaign's members, by wave. */
export async function packCampaignMembers(db: Queryable, id: string): Promise<CampaignMemberRecord[]> {
  return (await db.query(
    `SELECT id, client_id, campaign_wave, phase, state, state_reason, secret_status, secret_revoked_at,
       secret_revocation_probe_id
     FROM clients WHERE campaign_id = $1 ORDER BY campaign_wave, id`,
    [id],
  )) as CampaignMemberRecord[];
}
