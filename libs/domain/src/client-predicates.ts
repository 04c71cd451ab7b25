import { Phase, PhaseState } from './phases';

/**
 * Questions about one client that the API, campaigns and reports all ask. Each is answered here once;
 * `clients.repository.ts` writes the same rule as SQL from these constants, so the two cannot drift.
 */

/** States in which nothing moves until a person acts (retry, roll back, confirm). */
export const NEEDS_A_PERSON_STATES: readonly PhaseState[] = [PhaseState.Failed, PhaseState.Blocked];

/** Failed or blocked, and not finished: the "needs a person" list. */
export function needsAPerson(phase: Phase, state: PhaseState): boolean {
  return phase !== Phase.Completed && NEEDS_A_PERSON_STATES.includes(state);
}

/** The sender constraint is in force: the last phase's evidence is in (or the client finished). */
export function isSenderConstrained(target: string, phase: Phase, state: PhaseState): boolean {
  return (
    target !== 'none' && (phase === Phase.Completed || (phase === Phase.SenderConstraint && state === PhaseState.Done))
  );
}
