import { Inject, Injectable } from '@nestjs/common';
import { DomainError, ErrorCode, Logger, LOGGER } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { escalateTransient, Phase, PhaseEvent, PhaseState } from '@keyshift/domain';
import { JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { ClientsRepository } from '../clients/clients.repository';
import { ClientTransitions, TransitionResult } from '../clients/client-transitions.service';
import { PHASE_EXECUTORS, PhaseExecutor } from '../clients/phase-executor.port';

const WRITE_BACK_ATTEMPTS = 3;

/**
 * Runs the current phase for one leased client and writes the outcome back under the lease. A
 * stale job (the lease expired and moved on) does nothing: the client's current holder decides.
 * The next phase starts from the sweep, which advances and starts due clients in batches: measured
 * (docs/benchmarks.md), going on inside the job cut a phase's latency but cost a third of the
 * estate's throughput, since each step became its own transaction and audit append.
 */
@Injectable()
export class ReconcileClientHandler implements JobHandler<JobName.ReconcileClient> {
  readonly name = JobName.ReconcileClient;
  private readonly executors: Map<Phase, PhaseExecutor>;

  constructor(
    private readonly clients: ClientsRepository,
    private readonly transitions: ClientTransitions,
    @Inject(PHASE_EXECUTORS) executors: PhaseExecutor[],
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
  ) {
    this.executors = new Map(executors.map((e) => [e.phase, e]));
  }

  async handle({ clientRowId, leaseId }: PayloadOf<JobName.ReconcileClient>): Promise<void> {
    await this.runPhase(clientRowId, leaseId);
  }

  /** Runs the leased client's current phase and writes the outcome back. */
  private async runPhase(clientRowId: string, leaseId: string): Promise<void> {
    const client = await this.clients.findById(clientRowId);
    if (!client || client.leaseId !== leaseId || client.state !== PhaseState.Running) {
      this.logger.debug({ clientRowId, leaseId }, 'stale reconcile job skipped');
      return;
    }
    const executor = this.executors.get(client.phase);
    const outcome: PhaseEvent = executor
      ? await executor.run(client)
      : { type: 'needs_person', reason: `this Keyshift build has no executor for phase ${client.phase}` };
    const event = escalateTransient(outcome, client.attempts, this.config.reconcile.maxAttempts);
    await this.writeBack(clientRowId, leaseId, event);
  }

  /** An operator's pause may land between read and write; re-reading and re-deciding is safe under the lease. */
  private async writeBack(clientRowId: string, leaseId: string, event: PhaseEvent): Promise<TransitionResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transitions.apply(clientRowId, event, SYSTEM_ACTORS.worker, { leaseId });
      } catch (error) {
        const conflict = error instanceof DomainError && error.code === ErrorCode.VersionConflict;
        if (!conflict || attempt >= WRITE_BACK_ATTEMPTS) throw error;
      }
    }
  }
}
