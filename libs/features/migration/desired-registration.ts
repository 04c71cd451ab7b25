import { Phase, PHASE_ORDER } from '@keyshift/domain';
import { RegistrationState } from '../clients/client.entity';
import { RegistrationChange } from '../connectors/server-connector';

/** What a phase needs to be true at the server, for one registration. */
export interface WantedRegistration {
  authMethod: string;
  keys: boolean;
  dpopBound: boolean;
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
 * DPoP comes last. Successor: a new registration holds the key from key_registration on; the
 * original is deleted at secret_revocation.
 */
export function desiredRegistration(phase: Phase, facts: RegistrationFacts): DesiredRegistration {
  const keys = PHASES_WITH_KEYS.includes(phase);
  const switched = PHASE_ORDER_INDEX(phase) >= PHASE_ORDER_INDEX(Phase.Cutover);
  const dpopBound =
    facts.senderConstraint === 'dpop' && PHASE_ORDER_INDEX(phase) >= PHASE_ORDER_INDEX(Phase.SenderConstraint);
  if (facts.strategy === 'in_place') {
    return {
      original: { authMethod: switched ? KEY_METHOD : facts.sourceMethod, keys, dpopBound },
      successor: null,
    };
  }
  const deleted = PHASE_ORDER_INDEX(phase) >= PHASE_ORDER_INDEX(Phase.SecretRevocation);
  return {
    original: deleted ? 'deleted' : { authMethod: facts.sourceMethod, keys: false, dpopBound: false },
    successor: keys ? { authMethod: KEY_METHOD, keys: true, dpopBound } : null,
  };
}

/** What is recorded of a registration, as a WantedRegistration (absent fields: as imported). */
export function recordedRegistration(state: RegistrationState, sourceMethod: string): WantedRegistration {
  return {
    authMethod: state.authMethod ?? sourceMethod,
    keys: state.keys !== undefined,
    dpopBound: state.dpopBound ?? false,
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
  return Object.keys(change).length ? change : null;
}

/** The recorded state after `change` was applied. */
export function applied(state: RegistrationState, change: RegistrationChange, kids: string[]): RegistrationState {
  const next: RegistrationState = { ...state };
  if (change.jwks_uri) next.keys = { delivery: 'jwks_uri', jwksUri: change.jwks_uri, kids };
  if (change.jwks_uri === null) delete next.keys;
  if (change.token_endpoint_auth_method) next.authMethod = change.token_endpoint_auth_method;
  if (change.dpop_bound_access_tokens !== undefined) next.dpopBound = change.dpop_bound_access_tokens;
  return next;
}
