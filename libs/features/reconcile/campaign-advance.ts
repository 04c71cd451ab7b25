import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, newId } from '@keyshift/common';
import { gatePolicyOf, KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { GatePolicy, Phase, PhaseEvent, PhaseState } from '@keyshift/domain';
import { DataSource, EntityManager } from 'typeorm';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditEntry, AuditLog } from '../audit/audit-log.service';
import { ClientEntity } from '../clients/client.entity';
import { planTransition, transitionColumns } from '../clients/transition-plan';

/**
 * The released waves of running campaigns, read FOR SHARE: a campaign tick releasing a wave waits
 * for the reader's transaction (and then wakes what it parked), or the reader waits for the
 * release; nothing is parked on a release it did not see.
 */
export async function releasedWaves(manager: EntityManager, campaignIds: string[]): Promise<Map<string, number>> {
  if (campaignIds.length === 0) return new Map();
  const rows = (await manager.query(
    `SELECT id, released_wave FROM campaigns WHERE id = ANY($1::uuid[]) AND status = 'running' FOR SHARE`,
    [campaignIds],
  )) as { id: string; released_wave: number }[];
  return new Map(rows.map((r) => [r.id, r.released_wave]));
}

export function isReleased(client: ClientEntity, waves: Map<string, number>): boolean {
  return client.campaignId !== null && (client.campaignWave ?? Infinity) <= (waves.get(client.campaignId) ?? -1);
}

/** Events applied in order to one client: the row as it ends up, and an audit event per step. */
export function planSteps(
  client: ClientEntity,
  events: PhaseEvent[],
  context: { now: Date; policy: GatePolicy; leaseSeconds: number },
): { after: ClientEntity; audits: AuditEntry[] } {
  let after = client;
  const audits: AuditEntry[] = [];
  for (const event of events) {
    const planned = planTransition({
      client: after,
      event,
      now: context.now,
      policy: context.policy,
      actor: SYSTEM_ACTORS.worker,
      lease: { leaseId: newId(), leaseUntil: new Date(context.now.getTime() + context.leaseSeconds * 1000) },
    });
    if (!planned.ok) break;
    after = planned.plan.after;
    audits.push(planned.plan.audit);
  }
  return { after, audits };
}

/**
 * A campaign member whose gate was just met goes straight on: advanced and its next phase started
 * in the same worker job, instead of waiting for the next sweep. Returns the new lease when a phase
 * is running again, else null (paused, not released, completed, or someone else moved it).
 */
@Injectable()
export class CampaignAdvance {
  private readonly policy: GatePolicy;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
  ) {
    this.policy = gatePolicyOf(config);
  }

  continueNow(clientRowId: string): Promise<string | null> {
    return this.dataSource.transaction(async (m) => {
      const client = await m
        .getRepository(ClientEntity)
        .createQueryBuilder('c')
        .where('c.id = :id', { id: clientRowId })
        .setLock('pessimistic_write')
        .setOnLocked('skip_locked')
        .getOne();
      if (!client || client.state !== PhaseState.Done || client.paused || client.serverRevertTo) return null;
      if (client.phase === Phase.Completed || !client.campaignId) return null;
      if (!isReleased(client, await releasedWaves(m, [client.campaignId]))) return null;
      const context = { now: this.clock.now(), policy: this.policy, leaseSeconds: this.config.reconcile.leaseSeconds };
      // A phase with nothing to do (no sender constraint asked for) is done as it starts: go on.
      let { after, audits } = planSteps(client, [{ type: 'advance', by: 'system' }, { type: 'start' }], context);
      while (after.state === PhaseState.Done && after.phase !== Phase.Completed && audits.length < 12) {
        const more = planSteps(after, [{ type: 'advance', by: 'system' }, { type: 'start' }], context);
        if (more.audits.length === 0) break;
        after = more.after;
        audits = [...audits, ...more.audits];
      }
      if (audits.length === 0) return null;
      await m.getRepository(ClientEntity).update({ id: client.id, version: client.version }, transitionColumns(after));
      await this.audit.append(m, audits);
      return after.state === PhaseState.Running ? after.leaseId : null;
    });
  }
}
