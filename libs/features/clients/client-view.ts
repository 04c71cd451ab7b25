import { GATE_DESCRIPTIONS, Phase, PhaseState } from '@keyshift/domain';
import { ClientEntity, PendingServerChange, RegistrationState } from './client.entity';

/** The API's view of a client: no secret, token, ciphertext or fingerprint, ever. */
export interface ClientView {
  id: string;
  authorizationServerId: string;
  clientId: string;
  authMethod: string;
  /** The secret's status, and its issue date where the import gave one; never the secret. */
  secret: { status: string; issuedAt: string | null };
  registration: {
    clientUri: string | null;
    hasAccessToken: boolean;
    /** What Keyshift has made true at the server (method, where keys are read, DPoP). */
    atServer: RegistrationState;
    /** Successor strategy: the client_id of the key-holding successor registration. */
    successorClientId: string | null;
    /** A change an operator must make at the server (manual connector) before the phase goes on. */
    pendingChange: PendingServerChange | null;
    /** A rollback or failed cutover is still being undone at the server. */
    revertPending: boolean;
  };
  target: { authMethod: string; senderConstraint: string; strategy: string; cutover: string };
  campaign: { id: string; wave: number } | null;
  owner: string | null;
  tags: string[];
  phase: Phase;
  state: PhaseState;
  paused: boolean;
  stateReason: string | null;
  gate: string;
  nextCheckAt: string | null;
  cutoverConfirmedAt: string | null;
  phaseEnteredAt: string;
  attempts: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** The columns a view needs: list queries select these and leave ciphertexts in the table. */
export const CLIENT_VIEW_COLUMNS = `id, authorization_server_id, client_id, auth_method, secret_status, secret_issued_at,
  registration_client_uri, (registration_access_token_ciphertext IS NOT NULL) AS has_registration_access_token,
  target_auth_method, target_sender_constraint, target_strategy, target_cutover, owner, tags, phase, state, paused,
  state_reason, next_check_at, cutover_confirmed_at, phase_entered_at, registration_state, successor_client_id,
  pending_server_change, server_revert_to, campaign_id, campaign_wave, attempts, version, created_at, updated_at`;

export interface ClientViewRow {
  id: string;
  authorization_server_id: string;
  client_id: string;
  auth_method: string;
  secret_status: string;
  secret_issued_at: Date | null;
  registration_client_uri: string | null;
  has_registration_access_token: boolean;
  target_auth_method: string;
  target_sender_constraint: string;
  target_strategy: string;
  target_cutover: string;
  owner: string | null;
  tags: string[];
  phase: Phase;
  state: PhaseState;
  paused: boolean;
  state_reason: string | null;
  next_check_at: Date | null;
  cutover_confirmed_at: Date | null;
  phase_entered_at: Date;
  registration_state: RegistrationState;
  successor_client_id: string | null;
  pending_server_change: PendingServerChange | null;
  server_revert_to: string | null;
  campaign_id: string | null;
  campaign_wave: number | null;
  attempts: number;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export function viewFromRow(r: ClientViewRow): ClientView {
  return {
    id: r.id,
    authorizationServerId: r.authorization_server_id,
    clientId: r.client_id,
    authMethod: r.auth_method,
    secret: { status: r.secret_status, issuedAt: r.secret_issued_at?.toISOString() ?? null },
    registration: {
      clientUri: r.registration_client_uri,
      hasAccessToken: r.has_registration_access_token,
      atServer: r.registration_state,
      successorClientId: r.successor_client_id,
      pendingChange: r.pending_server_change,
      revertPending: r.server_revert_to !== null,
    },
    target: {
      authMethod: r.target_auth_method,
      senderConstraint: r.target_sender_constraint,
      strategy: r.target_strategy,
      cutover: r.target_cutover,
    },
    campaign: r.campaign_id ? { id: r.campaign_id, wave: r.campaign_wave ?? 0 } : null,
    owner: r.owner,
    tags: r.tags,
    phase: r.phase,
    state: r.state,
    paused: r.paused,
    stateReason: r.state_reason,
    gate: GATE_DESCRIPTIONS[r.phase],
    nextCheckAt: r.next_check_at?.toISOString() ?? null,
    cutoverConfirmedAt: r.cutover_confirmed_at?.toISOString() ?? null,
    phaseEnteredAt: r.phase_entered_at.toISOString(),
    attempts: r.attempts,
    version: r.version,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export function viewFromEntity(c: ClientEntity): ClientView {
  return viewFromRow({
    id: c.id,
    authorization_server_id: c.authorizationServerId,
    client_id: c.clientId,
    auth_method: c.authMethod,
    secret_status: c.secretStatus,
    secret_issued_at: c.secretIssuedAt,
    registration_client_uri: c.registrationClientUri,
    has_registration_access_token: c.registrationAccessTokenCiphertext !== null,
    target_auth_method: c.targetAuthMethod,
    target_sender_constraint: c.targetSenderConstraint,
    target_strategy: c.targetStrategy,
    target_cutover: c.targetCutover,
    owner: c.owner,
    tags: c.tags,
    phase: c.phase,
    state: c.state,
    paused: c.paused,
    state_reason: c.stateReason,
    next_check_at: c.nextCheckAt,
    cutover_confirmed_at: c.cutoverConfirmedAt,
    phase_entered_at: c.phaseEnteredAt,
    registration_state: c.registrationState,
    successor_client_id: c.successorClientId,
    pending_server_change: c.pendingServerChange,
    server_revert_to: c.serverRevertTo,
    campaign_id: c.campaignId,
    campaign_wave: c.campaignWave,
    attempts: c.attempts,
    version: c.version,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  });
}

/** What the audit log records of a client: the view minus bookkeeping that changes on every write. */
export function auditSummary(v: ClientView): Record<string, unknown> {
  return {
    clientId: v.clientId,
    authorizationServerId: v.authorizationServerId,
    authMethod: v.authMethod,
    secret: v.secret.status,
    secretIssuedAt: v.secret.issuedAt,
    hasRegistrationAccessToken: v.registration.hasAccessToken,
    target: v.target,
    owner: v.owner,
    tags: v.tags,
    phase: v.phase,
    state: v.state,
    paused: v.paused,
    stateReason: v.stateReason,
    atServer: v.registration.atServer,
    successorClientId: v.registration.successorClientId,
    revertPending: v.registration.revertPending,
    version: v.version,
  };
}
