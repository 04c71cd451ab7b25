import { Phase, PhaseEvent } from '@keyshift/domain';
import { ClientEntity } from './client.entity';

/**
 * The port between the reconcile loop and the features that carry out a client's phases (vendor
 * check, migration): declared by the clients feature, so that neither side imports the other.
 *
 * Carries out one phase for one leased client and reports what happened as a phase-machine event
 * (evidence, a transient failure, or a need for a person). Later features register one per phase.
 */
export interface PhaseExecutor {
  readonly phase: Phase;
  run(client: ClientEntity): Promise<PhaseEvent>;
}

export const PHASE_EXECUTORS = Symbol('PHASE_EXECUTORS');
