import { Inject, Injectable } from '@nestjs/common';
import { Clock, Logger, LOGGER } from '@keyshift/common';
import { gatePolicyOf, KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Transactions, Tx } from '@keyshift/database';
import { GatePolicy, PhaseEvent, PhaseState, sweepStep } from '@keyshift/domain';
import { JobHandler, JobName, JobPayload, JobQueue, PayloadOf } from '@keyshift/queue';
import { AuditEntry, AuditLog } from '../audit/audit-log.service';
import { ClientEntity } from '../clients/client.entity';
import { ClientsRepository } from '../clients/clients.repository';
import { TRANSITION_COLUMNS } from '../clients/transition-plan';
import { CampaignsRepository } from '../campaigns/campaigns.repository';
import { planSteps } from './sweep-steps';

export interface SweepResult {
  released: number;
  leased: number;
  advanced: number;
}

/**
 * The reconcile fan-out. In one transaction: return clients whose worker lease expired to pending
 * (the watchdog), lease due clients with FOR UPDATE SKIP LOCKED (so concurrent sweeps never hand
 * out one client twice), advance clients whose gate is met (inside a campaign's released wave;
 * elsewhere an operator advances), and audit each change. After commit, one job per leased
 * client, and the server reverts still owed. If enqueueing fails the leases simply expire and the
 * next sweep hands the clients out again.
 */
@Injectable()
export class ReconcileSweepHandler implements JobHandler<JobName.ReconcileSweep> {
  readonly name = JobName.ReconcileSweep;
  private readonly policy: GatePolicy;

  constructor(
    private readonly clients: ClientsRepository,
    private readonly transactions: Transactions,
    private readonly campaigns: CampaignsRepository,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
    private readonly audit: AuditLog,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.policy = gatePolicyOf(config);
  }

  async handle(_data: PayloadOf<JobName.ReconcileSweep>): Promise<void> {
    const result = await this.sweep();
    if (result.leased || result.released || result.advanced) this.logger.info(result, 'reconcile sweep');
  }

  async sweep(): Promise<SweepResult> {
    const now = this.clock.now();
    const limit = this.config.reconcile.batchSize;
    const { jobs, result } = await this.transactions.run(async (manager) => {
      const expired = await this.clients.lockExpiredLeases(manager, now, limit);
      // Not while a rollback is still being undone at the server, nor in a paused campaign.
      const due = await this.clients.lockDue(manager, now, limit);
      const waves = await this.releasedWavesOf(manager, due);

      const changed: ClientEntity[] = [];
      const events: AuditEntry[] = [];
      const jobs: JobPayload[] = [];
      let advanced = 0;
      const context = { now, policy: this.policy, leaseSeconds: this.config.reconcile.leaseSeconds };
      /** Applies events in order to one client; the row is written once, each step audited. */
      const steps = (client: ClientEntity, ...eventsInOrder: PhaseEvent[]): ClientEntity => {
        const { after, audits } = planSteps(client, eventsInOrder, context);
        if (audits.length === 0) {
          // A due client the machine will not move (should not happen): stop re-picking it every tick.
          this.logger.warn({ clientRowId: client.id, event: eventsInOrder[0].type }, 'due client not movable');
          changed.push({ ...client, nextCheckAt: null, version: client.version + 1, updatedAt: now });
          return client;
        }
        events.push(...audits);
        changed.push(after);
        return after;
      };

      for (const client of expired) steps(client, { type: 'lease_expired' });
      for (const client of due) {
        let after: ClientEntity;
        const step = sweepStep(client, waves);
        if (step === 'park') {
          // Parked until an operator advances it (POST /v1/clients/{id}/advance) or its wave is released.
          changed.push({ ...client, nextCheckAt: null, version: client.version + 1, updatedAt: now });
          continue;
        } else if (step === 'advance_and_start') {
          // Advanced and started in the same sweep: a phase costs one sweep, not two.
          after = steps(client, { type: 'advance', by: 'system' }, { type: 'start' });
          if (after.phase !== client.phase) advanced++;
        } else {
          after = steps(client, { type: 'start' });
        }
        if (after.state === PhaseState.Running && after.leaseId)
          jobs.push({ name: JobName.ReconcileClient, data: { clientRowId: after.id, leaseId: after.leaseId } });
      }
      await this.clients.writeTransitions(manager, changed, [...TRANSITION_COLUMNS]);
      await this.audit.append(manager, events);
      const reverts = await this.clients.pendingServerReverts(manager, limit);
      for (const r of reverts)
        jobs.push({ name: JobName.ServerRevert, data: { clientRowId: r.id, version: r.version } });
      return { jobs, result: { released: expired.length, leased: jobs.length - reverts.length, advanced } };
    });
    await this.queue.enqueueMany(jobs);
    return result;
  }

  /** The released waves of the running campaigns these clients belong to. */
  private releasedWavesOf(manager: Tx, clients: ClientEntity[]): Promise<Map<string, number>> {
    return this.campaigns.releasedWaves(manager, [
      ...new Set(clients.flatMap((c) => (c.campaignId ? [c.campaignId] : []))),
    ]);
  }
}
