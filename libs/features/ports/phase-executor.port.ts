import { Phase, PhaseEvent } from '@keyshift/domain';
import { ClientEntity } from '../clients/client.entity';

/**
 * The port between the reconcile loop and the features that carry out phases (vendor check,
 * migration): it lives outside both so that neither imports the other.
 *
 * Carries out one phase for one leased client and reports what happened as a phase-machine event
 * (evidence, a transient failure, or a need for a person). Later features register one per phase.
 */
export interface PhaseExecutor {
  readonly phase: Phase;
  run(client: ClientEntity): Promise<PhaseEvent>;
}

export const PHASE_EXECUTORS = Symbol('PHASE_EXECUTORS');
