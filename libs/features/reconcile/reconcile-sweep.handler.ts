import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, Logger, LOGGER, newId } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { bulkUpdate } from '@keyshift/database';
import { GatePolicy, PhaseEvent, PhaseState } from '@keyshift/domain';
import { JobHandler, JobName, JobPayload, JobQueue, PayloadOf } from '@keyshift/queue';
import { DataSource, EntityManager } from 'typeorm';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditEntry, AuditLog } from '../audit/audit-log.service';
import { ClientEntity } from '../clients/client.entity';
import { planTransition, TRANSITION_COLUMNS } from '../clients/transition-plan';

export interface SweepResult {
  released: number;
  leased: number;
  advanced: number;
}

/**
 * The reconcile fan-out. In one transaction: return clients whose worker lease expired to pending
 * (the watchdog), lease due clients with FOR UPDATE SKIP LOCKED (so concurrent sweeps never hand
 * out one client twice), advance clients whose gate is met, and audit each change. After commit,
 * one job per leased client. If enqueueing fails the leases simply expire and the next sweep
 * hands the clients out again.
 */
@Injectable()
export class ReconcileSweepHandler implements JobHandler<JobName.ReconcileSweep> {
  readonly name = JobName.ReconcileSweep;
  private readonly policy: GatePolicy;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
    private readonly audit: AuditLog,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.policy = { soak: config.soak };
  }

  async handle(_data: PayloadOf<JobName.ReconcileSweep>): Promise<void> {
    const result = await this.sweep();
    if (result.leased || result.released || result.advanced) this.logger.info(result, 'reconcile sweep');
  }

  async sweep(): Promise<SweepResult> {
    const now = this.clock.now();
    const { jobs, result } = await this.dataSource.transaction(async (manager) => {
      const expired = await this.lock(manager, 'c.state = :running AND c.lease_until < :now', 'c.lease_until', now);
      const due = await this.lock(manager, 'c.next_check_at <= :now AND c.paused = false', 'c.next_check_at', now);

      const changed: ClientEntity[] = [];
      const events: AuditEntry[] = [];
      const jobs: JobPayload[] = [];
      let advanced = 0;
      const transition = (client: ClientEntity, event: PhaseEvent): ClientEntity | null => {
        const planned = planTransition({
          client,
          event,
          now,
          policy: this.policy,
          actor: SYSTEM_ACTORS.worker,
          lease: { leaseId: newId(), leaseUntil: new Date(now.getTime() + this.config.reconcile.leaseSeconds * 1000) },
        });
        if (!planned.ok) {
          // A due client the machine will not move (should not happen): stop re-picking it every tick.
          this.logger.warn(
            { clientRowId: client.id, event: event.type, refusal: planned.message },
            'due client not movable',
          );
          changed.push({ ...client, nextCheckAt: null, version: client.version + 1, updatedAt: now });
          return null;
        }
        changed.push(planned.plan.after);
        events.push(planned.plan.audit);
        return planned.plan.after;
      };

      for (const client of expired) transition(client, { type: 'lease_expired' });
      for (const client of due) {
        if (client.state === PhaseState.Done) {
          if (transition(client, { type: 'advance', by: 'system' })) advanced++;
          continue;
        }
        const after = transition(client, { type: 'start' });
        if (after?.leaseId)
          jobs.push({ name: JobName.ReconcileClient, data: { clientRowId: after.id, leaseId: after.leaseId } });
      }
      await bulkUpdate(manager, ClientEntity, changed, [...TRANSITION_COLUMNS]);
      await this.audit.append(manager, events);
      return { jobs, result: { released: expired.length, leased: jobs.length, advanced } };
    });
    await this.queue.enqueueMany(jobs);
    return result;
  }

  private lock(manager: EntityManager, where: string, orderBy: string, now: Date): Promise<ClientEntity[]> {
    return manager
      .getRepository(ClientEntity)
      .createQueryBuilder('c')
      .where(where, { now, running: PhaseState.Running })
      .orderBy(orderBy)
      .limit(this.config.reconcile.batchSize)
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .getMany();
  }
}
