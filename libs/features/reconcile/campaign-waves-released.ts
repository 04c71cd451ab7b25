import { newId } from '@keyshift/common';
import { GatePolicy, PhaseEvent } from '@keyshift/domain';
import { EntityManager } from 'typeorm';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditEntry } from '../audit/audit-log.service';
import { ClientEntity } from '../clients/client.entity';
import { planTransition } from '../clients/transition-plan';

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
