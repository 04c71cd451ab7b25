import { Phase, PHASE_ORDER } from '@keyshift/domain';
import { estateWhere } from './estate-filter';
import { EstateFilter } from './estate-summary';
import { ROTATION_PERIOD_DAYS_SQL } from '../keys/rotation-policy';

const DAY_MS = 86_400_000;

/** One client in an estate report: where it stands, on what evidence. Never a secret or a private key. */
export interface EstateRow {
  id: string;
  clientId: string;
  authorizationServer: { id: string; name: string };
  owner: string | null;
  tags: string[];
  phase: Phase;
  state: string;
  paused: boolean;
  stateReason: string | null;
  authMethod: { current: string; target: string };
  strategy: string;
  successorClientId: string | null;
  secret: {
    status: 'present' | 'revoked';
    /** When the secret was issued, where the import said; null if unknown. */
    issuedAt: string | null;
    /** Since when Keyshift has known the secret (its import). */
    knownSince: string;
    revokedAt: string | null;
    /** The refused old-secret probe that justified the revocation. */
    evidenceProbeId: string | null;
  };
  keys: { kid: string; alg: string; state: string; origin: string; ageDays: number }[];
  /** The active key is older than its rotation policy's period. */
  keyPastRotation: boolean;
  senderConstraint: { target: string; bound: boolean };
  lastProbes: { secret: ProbeSummary | null; key: ProbeSummary | null; dpop: ProbeSummary | null };
  /** Why a person must act (failed or blocked), else null. */
  blocker: string | null;
  campaignId: string | null;
}

export interface ProbeSummary {
  id: string;
  outcome: string;
  errorCode: string | null;
  at: string;
}

/** The columns of the client table of a CSV estate report, in order. */
export const ESTATE_CSV_COLUMNS = [
  'id',
  'client_id',
  'authorization_server',
  'owner',
  'tags',
  'phase',
  'state',
  'paused',
  'state_reason',
  'auth_method_current',
  'auth_method_target',
  'strategy',
  'successor_client_id',
  'secret_status',
  'secret_issued_at',
  'secret_known_since',
  'secret_revoked_at',
  'secret_revocation_probe_id',
  'active_kid',
  'active_key_alg',
  'active_key_age_days',
  'key_past_rotation',
  'keys',
  'sender_constraint_target',
  'sender_constrained',
  'last_secret_probe',
  'last_secret_probe_at',
  'last_key_probe',
  'last_key_probe_at',
  'last_dpop_probe',
  'last_dpop_probe_at',
  'blocker',
  'campaign_id',
] as const;

export type EstateCsvRecord = Record<(typeof ESTATE_CSV_COLUMNS)[number], string | number | boolean | null>;

const outcomeOf = (p: ProbeSummary | null) => (p ? (p.errorCode ? `${p.outcome}:${p.errorCode}` : p.outcome) : null);

export function csvRecordOf(r: EstateRow): EstateCsvRecord {
  const active = r.keys.find((k) => k.state === 'active') ?? null;
  return {
    id: r.id,
    client_id: r.clientId,
    authorization_server: r.authorizationServer.name,
    owner: r.owner,
    tags: r.tags.join(';'),
    phase: r.phase,
    state: r.state,
    paused: r.paused,
    state_reason: r.stateReason,
    auth_method_current: r.authMethod.current,
    auth_method_target: r.authMethod.target,
    strategy: r.strategy,
    successor_client_id: r.successorClientId,
    secret_status: r.secret.status,
    secret_issued_at: r.secret.issuedAt,
    secret_known_since: r.secret.knownSince,
    secret_revoked_at: r.secret.revokedAt,
    secret_revocation_probe_id: r.secret.evidenceProbeId,
    active_kid: active?.kid ?? null,
    active_key_alg: active?.alg ?? null,
    active_key_age_days: active?.ageDays ?? null,
    key_past_rotation: r.keyPastRotation,
    keys: r.keys.map((k) => `${k.kid}:${k.alg}:${k.state}`).join(';'),
    sender_constraint_target: r.senderConstraint.target,
    sender_constrained: r.senderConstraint.bound,
    last_secret_probe: outcomeOf(r.lastProbes.secret),
    last_secret_probe_at: r.lastProbes.secret?.at ?? null,
    last_key_probe: outcomeOf(r.lastProbes.key),
    last_key_probe_at: r.lastProbes.key?.at ?? null,
    last_dpop_probe: outcomeOf(r.lastProbes.dpop),
    last_dpop_probe_at: r.lastProbes.dpop?.at ?? null,
    blocker: r.blocker,
    campaign_id: r.campaignId,
  };
}

/** The latest token-request probe of a kind, as JSON (null when there is none). */
const lastProbe = (condition: string) => `(SELECT json_build_object('id', p.id, 'outcome', p.outcome,
    'errorCode', p.error_code, 'at', p.created_at)
  FROM probes p WHERE p.client_row_id = c.id AND p.via = 'token_request' AND ${condition}
  ORDER BY p.created_at DESC LIMIT 1)`;

/**
 * The report's rows in id order. Keys and last probes are correlated subqueries, each an index
 * lookup (IDX_client_keys_client, IDX_probes_client_method), so the database streams the rows
 * as it finds them and the API never holds more than a cursor batch.
 */
export function estateRowsQuery(filter: EstateFilter, now: Date): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where = estateWhere(filter, params);
  params.push(now);
  const nowParam = `$${params.length}`;
  return {
    params,
    sql: `SELECT c.id, c.client_id, c.authorization_server_id, s.name AS server_name, c.owner, c.tags, c.phase,
        c.state, c.paused, c.state_reason, c.auth_method, c.registration_state->>'authMethod' AS auth_method_at_server,
        c.target_auth_method, c.target_sender_constraint, c.target_strategy, c.successor_client_id,
        c.secret_status, c.secret_issued_at, c.created_at, c.secret_revoked_at, c.secret_revocation_probe_id, c.campaign_id,
        ${ROTATION_PERIOD_DAYS_SQL} AS rotation_period_days,
        (SELECT json_agg(json_build_object('kid', k.kid, 'alg', k.alg, 'state', k.state, 'origin', k.origin,
            'since', coalesce(k.activated_at, k.created_at)) ORDER BY k.created_at)
          FROM client_keys k WHERE k.client_row_id = c.id AND k.state <> 'retired') AS keys,
        ${lastProbe(`p.method = c.auth_method`)} AS last_secret_probe,
        ${lastProbe(`p.method = 'private_key_jwt' AND NOT p.dpop`)} AS last_key_probe,
        ${lastProbe(`p.method = 'private_key_jwt' AND p.dpop`)} AS last_dpop_probe,
        ${nowParam}::timestamptz AS report_now
      FROM clients c JOIN authorization_servers s ON s.id = c.authorization_server_id
      WHERE ${where}
      ORDER BY c.id`,
  };
}

export interface EstateDbRow {
  id: string;
  client_id: string;
  authorization_server_id: string;
  server_name: string;
  owner: string | null;
  tags: string[];
  phase: Phase;
  state: string;
  paused: boolean;
  state_reason: string | null;
  auth_method: string;
  auth_method_at_server: string | null;
  target_auth_method: string;
  target_sender_constraint: string;
  target_strategy: string;
  successor_client_id: string | null;
  secret_status: string;
  secret_issued_at: Date | null;
  created_at: Date;
  secret_revoked_at: Date | null;
  secret_revocation_probe_id: string | null;
  campaign_id: string | null;
  rotation_period_days: number;
  keys: { kid: string; alg: string; state: string; origin: string; since: string }[] | null;
  last_secret_probe: ProbeSummary | null;
  last_key_probe: ProbeSummary | null;
  last_dpop_probe: ProbeSummary | null;
  report_now: Date;
}

/** Reports say `revoked`: the secret was refused at the server on evidence, and Keyshift's copy shredded. */
export const reportedSecretStatus = (stored: string): 'present' | 'revoked' =>
  stored === 'shredded' ? 'revoked' : 'present';

const pastCutover = (phase: Phase) => PHASE_ORDER.indexOf(phase) > PHASE_ORDER.indexOf(Phase.Cutover);

export function estateRowOf(r: EstateDbRow): EstateRow {
  const now = r.report_now.getTime();
  const keys = (r.keys ?? []).map((k) => ({
    kid: k.kid,
    alg: k.alg,
    state: k.state,
    origin: k.origin,
    ageDays: Math.floor((now - Date.parse(k.since)) / DAY_MS),
  }));
  const active = keys.find((k) => k.state === 'active');
  // A successor's workload authenticates as the successor once cutover is behind it.
  const current =
    r.target_strategy === 'successor' && pastCutover(r.phase)
      ? 'private_key_jwt'
      : (r.auth_method_at_server ?? r.auth_method);
  const failing = r.state === 'failed' || r.state === 'blocked';
  return {
    id: r.id,
    clientId: r.client_id,
    authorizationServer: { id: r.authorization_server_id, name: r.server_name },
    owner: r.owner,
    tags: r.tags,
    phase: r.phase,
    state: r.state,
    paused: r.paused,
    stateReason: r.state_reason,
    authMethod: { current, target: r.target_auth_method },
    strategy: r.target_strategy,
    successorClientId: r.successor_client_id,
    secret: {
      status: reportedSecretStatus(r.secret_status),
      issuedAt: r.secret_issued_at?.toISOString() ?? null,
      knownSince: r.created_at.toISOString(),
      revokedAt: r.secret_revoked_at?.toISOString() ?? null,
      evidenceProbeId: r.secret_revocation_probe_id,
    },
    keys,
    keyPastRotation: active !== undefined && active.ageDays >= r.rotation_period_days,
    senderConstraint: {
      target: r.target_sender_constraint,
      bound:
        r.target_sender_constraint === 'dpop' &&
        (r.phase === Phase.Completed || (r.phase === Phase.SenderConstraint && r.state === 'done')),
    },
    lastProbes: { secret: r.last_secret_probe, key: r.last_key_probe, dpop: r.last_dpop_probe },
    blocker: failing ? (r.state_reason ?? r.state) : null,
    campaignId: r.campaign_id,
  };
}
