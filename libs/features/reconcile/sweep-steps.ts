import { newId } from '@keyshift/common';
import { GatePolicy, PhaseEvent } from '@keyshift/domain';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditEntry } from '../audit/audit-log.service';
import { ClientEntity } from '../clients/client.entity';
import { planTransition } from '../clients/transition-plan';

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
