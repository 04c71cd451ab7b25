import { Phase, PHASE_ORDER } from '@keyshift/domain';
import { RegistrationState } from '../clients/client.entity';
import { RegistrationChange } from '../connectors/server-connector';

/** What a phase needs to be true at the server, for one registration. */
export interface WantedRegistration {
  authMethod: string;
  keys: boolean;
  dpopBound: boolean;
  /** The secret the server still stores after the switch has been regenerated or deleted there. */
  secretRetired: boolean;
}

/** The whole picture for a client: its original registration, and a successor when the strategy has one. */
export interface DesiredRegistration {
  original: WantedRegistration | 'deleted';
  successor: WantedRegistration | null;
}

export interface RegistrationFacts {
  strategy: 'in_place' | 'successor';
  /** The secret method the client was imported with. */
  sourceMethod: string;
  senderConstraint: 'dpop' | 'none';
  /** The server keeps the secret, dormant, after the method switch (retiresSecretAtServer). */
  secretOutlivesSwitch: boolean;
}

const KEY_METHOD = 'private_key_jwt';
const PHASE_ORDER_INDEX = (phase: Phase) => PHASE_ORDER.indexOf(phase);
const PHASES_WITH_KEYS: readonly Phase[] = [
  Phase.KeyRegistration,
  Phase.ParallelAuth,
  Phase.Cutover,
  Phase.SecretRevocation,
  Phase.SenderConstraint,
  Phase.Completed,
];

/**
 * The registration each phase needs at the server. Executors move the server towards it, and a
 * rollback (or a failed cutover) moves it back to the previous phase's: one table, read both ways.
 *
 * In place: the key is registered beside the secret method, the method switches at cutover, and
 * DPoP comes last; where the server keeps the dormant secret after the switch, secret revocation
 * regenerates or deletes it there (no rollback goes back past revocation). Successor: a new
 * registration holds the key from key_registration on; the original is deleted at secret_revocation.
 */
export function desiredRegistration(phase: Phase, facts: RegistrationFacts): DesiredRegistration {
  const keys = PHASES_WITH_KEYS.includes(phase);
  const switched = PHASE_ORDER_INDEX(phase) >= PHASE_ORDER_INDEX(Phase.Cutover);
  const dpopBound =
    facts.senderConstraint === 'dpop' && PHASE_ORDER_INDEX(phase) >= PHASE_ORDER_INDEX(Phase.SenderConstraint);
  const revoked = PHASE_ORDER_INDEX(phase) >= PHASE_ORDER_INDEX(Phase.SecretRevocation);
  if (facts.strategy === 'in_place') {
    const secretRetired = facts.secretOutlivesSwitch && revoked;
    return {
      original: { authMethod: switched ? KEY_METHOD : facts.sourceMethod, keys, dpopBound, secretRetired },
      successor: null,
    };
  }
  return {
    original: revoked
      ? 'deleted'
      : { authMethod: facts.sourceMethod, keys: false, dpopBound: false, secretRetired: false },
    successor: keys ? { authMethod: KEY_METHOD, keys: true, dpopBound, secretRetired: false } : null,
  };
}

/** What is recorded of a registration, as a WantedRegistration (absent fields: as imported). */
export function recordedRegistration(state: RegistrationState, sourceMethod: string): WantedRegistration {
  return {
    authMethod: state.authMethod ?? sourceMethod,
    keys: state.keys !== undefined,
    dpopBound: state.dpopBound ?? false,
    secretRetired: state.secretRetired ?? false,
  };
}

/**
 * The RFC 7591 metadata change that turns `recorded` into `wanted`, or null when nothing differs.
 * The key set is always delivered as Keyshift's jwks_uri, so later rotations need no server call.
 */
export function registrationChange(
  recorded: WantedRegistration,
  wanted: WantedRegistration,
  keys: { jwksUri: string; alg: string },
): RegistrationChange | null {
  const change: RegistrationChange = {};
  if (wanted.keys && !recorded.keys) change.jwks_uri = keys.jwksUri;
  if (!wanted.keys && recorded.keys) change.jwks_uri = null;
  if (wanted.authMethod !== recorded.authMethod) {
    change.token_endpoint_auth_method = wanted.authMethod as RegistrationChange['token_endpoint_auth_method'];
    change.token_endpoint_auth_signing_alg = wanted.authMethod === KEY_METHOD ? keys.alg : null;
  }
  if (wanted.dpopBound !== recorded.dpopBound) change.dpop_bound_access_tokens = wanted.dpopBound;
  // Only ever forwards: a destroyed secret cannot be brought back.
  if (wanted.secretRetired && !recorded.secretRetired) change.retire_secret = true;
  return Object.keys(change).length ? change : null;
}

/** The recorded state after `change` was applied. */
export function applied(state: RegistrationState, change: RegistrationChange, kids: string[]): RegistrationState {
  const next: RegistrationState = { ...state };
  if (change.jwks_uri) next.keys = { delivery: 'jwks_uri', jwksUri: change.jwks_uri, kids };
  if (change.jwks_uri === null) delete next.keys;
  if (change.token_endpoint_auth_method) next.authMethod = change.token_endpoint_auth_method;
  if (change.dpop_bound_access_tokens !== undefined) next.dpopBound = change.dpop_bound_access_tokens;
  if (change.retire_secret) next.secretRetired = true;
  return next;
}
