import type { PhaseEvent } from './phase-machine';
import { PhaseState } from './phases';
import { retriesExhausted } from './retry-and-confirmation';

export { awaitsCutoverConfirmation, retriesExhausted } from './retry-and-confirmation';

/**
 * The rules around the phase machine that the reconcile loop, the probe jobs and the executors
 * apply: written once here, pure, so that they are unit- and mutation-tested with the machine.
 */

/**
 * What a phase's outcome means for the machine: a transient failure on the last allowed attempt
 * becomes `retries_exhausted` (the client fails and waits for a person); anything else is as is.
 */
export function escalateTransient(event: PhaseEvent, attemptsSoFar: number, maxAttempts: number): PhaseEvent {
  if (event.type !== 'transient_failure' || !retriesExhausted(attemptsSoFar, maxAttempts)) return event;
  return { type: 'retries_exhausted', reason: `${event.reason} (gave up after ${attemptsSoFar} attempts)` };
}

/** A campaign member's place: which campaign and wave; null campaign for a client in none. */
export interface WaveMembership {
  campaignId: string | null;
  campaignWave: number | null;
}

/**
 * Whether the client is in a running campaign's released wave (`releasedWaves`: campaign id → the
 * highest wave released, for running campaigns only). A member without a wave is never released.
 */
export function inReleasedWave(member: WaveMembership, releasedWaves: ReadonlyMap<string, number>): boolean {
  if (member.campaignId === null || member.campaignWave === null) return false;
  const released = releasedWaves.get(member.campaignId);
  return released !== undefined && member.campaignWave <= released;
}

/**
 * What the reconcile sweep does with a due client. A finished phase advances by itself only inside
 * a campaign's released wave (and starts the next phase in the same sweep); otherwise it is parked
 * until an operator advances it. Any other due client starts its phase's work.
 */
export type SweepStep = 'advance_and_start' | 'park' | 'start';

export function sweepStep(
  client: WaveMembership & { state: PhaseState },
  releasedWaves: ReadonlyMap<string, number>,
): SweepStep {
  if (client.state !== PhaseState.Done) return 'start';
  return inReleasedWave(client, releasedWaves) ? 'advance_and_start' : 'park';
}

/** The last probe recorded at cutover, as the secret-revocation gate reads it. */
export interface CutoverProbeRecord {
  outcome: string;
  via: string;
}

/**
 * Secret revocation is the point of no return: refused (with the reason) unless the last probe at
 * cutover was a successful private_key_jwt token request. Null when revocation may go ahead.
 */
export function revocationRefusal(lastCutoverProbe: CutoverProbeRecord | null): string | null {
  if (lastCutoverProbe?.outcome === 'ok' && lastCutoverProbe.via === 'token_request') return null;
  return 'refusing to revoke: no successful private_key_jwt token request is recorded since cutover';
}
