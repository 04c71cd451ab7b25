import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DomainError, ErrorCode, Logger, LOGGER } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Phase, PhaseEvent, PhaseState } from '@keyshift/domain';
import { JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import { DataSource } from 'typeorm';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { ClientEntity } from '../clients/client.entity';
import { ClientTransitions, TransitionResult } from '../clients/client-transitions.service';
import { CampaignAdvance } from './campaign-advance';
import { PHASE_EXECUTORS, PhaseExecutor } from './phase-executor';

const WRITE_BACK_ATTEMPTS = 3;
const PHASES_PER_JOB = 7;

/**
 * Runs the current phase for one leased client and writes the outcome back under the lease; a
 * campaign member whose gate is met goes on to its next phase in the same job. A stale job (the
 * lease expired and moved on) does nothing: the client's current holder decides.
 */
@Injectable()
export class ReconcileClientHandler implements JobHandler<JobName.ReconcileClient> {
  readonly name = JobName.ReconcileClient;
  private readonly executors: Map<Phase, PhaseExecutor>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transitions: ClientTransitions,
    @Inject(PHASE_EXECUTORS) executors: PhaseExecutor[],
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
    private readonly campaignAdvance: CampaignAdvance,
  ) {
    this.executors = new Map(executors.map((e) => [e.phase, e]));
  }

  async handle({ clientRowId, leaseId }: PayloadOf<JobName.ReconcileClient>): Promise<void> {
    let lease: string | null = leaseId;
    // A campaign member goes on to its next phase in this same job (bounded: six phases at most).
    for (let phases = 0; lease && phases < PHASES_PER_JOB; phases++) {
      const done = await this.runPhase(clientRowId, lease);
      lease = done ? await this.campaignAdvance.continueNow(clientRowId) : null;
    }
  }

  /** Runs the leased client's current phase and writes the outcome back; true when the gate is now met. */
  private async runPhase(clientRowId: string, leaseId: string): Promise<boolean> {
    const client = await this.dataSource.getRepository(ClientEntity).findOne({ where: { id: clientRowId } });
    if (!client || client.leaseId !== leaseId || client.state !== PhaseState.Running) {
      this.logger.debug({ clientRowId, leaseId }, 'stale reconcile job skipped');
      return false;
    }
    const executor = this.executors.get(client.phase);
    let event: PhaseEvent = executor
      ? await executor.run(client)
      : { type: 'needs_person', reason: `this Keyshift build has no executor for phase ${client.phase}` };
    if (event.type === 'transient_failure' && client.attempts >= this.config.reconcile.maxAttempts) {
      event = { type: 'retries_exhausted', reason: `${event.reason} (gave up after ${client.attempts} attempts)` };
    }
    const written = await this.writeBack(clientRowId, leaseId, event);
    return written.client.state === PhaseState.Done;
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
