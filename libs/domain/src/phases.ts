/** The six migration phases, in order, then `completed`. */
export enum Phase {
  VendorCheck = 'vendor_check',
  KeyRegistration = 'key_registration',
  ParallelAuth = 'parallel_auth',
  Cutover = 'cutover',
  SecretRevocation = 'secret_revocation',
  SenderConstraint = 'sender_constraint',
  Completed = 'completed',
}

/** Where a client stands within its phase. */
export enum PhaseState {
  /** Due for the worker to start the phase's work. */
  Pending = 'pending',
  /** A worker holds a lease and is acting. */
  Running = 'running',
  /** Waiting on a gate: a soak timer, a retry after a transient fault, or an operator confirmation. */
  Waiting = 'waiting',
  /** Needs a person: the reason says what. */
  Blocked = 'blocked',
  /** Retries exhausted, or evidence came back negative after a server-side change. */
  Failed = 'failed',
  /** The phase's gate is satisfied; the client may advance. */
  Done = 'done',
}

export const PHASE_ORDER: readonly Phase[] = [
  Phase.VendorCheck,
  Phase.KeyRegistration,
  Phase.ParallelAuth,
  Phase.Cutover,
  Phase.SecretRevocation,
  Phase.SenderConstraint,
  Phase.Completed,
];

export const ALL_STATES: readonly PhaseState[] = Object.values(PhaseState);

export function nextPhase(phase: Phase): Phase | null {
  const i = PHASE_ORDER.indexOf(phase);
  return i < PHASE_ORDER.length - 1 ? PHASE_ORDER[i + 1] : null;
}

export function previousPhase(phase: Phase): Phase | null {
  const i = PHASE_ORDER.indexOf(phase);
  return i > 0 ? PHASE_ORDER[i - 1] : null;
}

/**
 * Revoking the shared secret is the point of no return: from this phase on nothing rolls back,
 * because the old credential no longer exists at the server.
 */
export const POINT_OF_NO_RETURN = Phase.SecretRevocation;

export function canRollBackFrom(phase: Phase): boolean {
  const i = PHASE_ORDER.indexOf(phase);
  return i > 0 && i < PHASE_ORDER.indexOf(POINT_OF_NO_RETURN);
}
