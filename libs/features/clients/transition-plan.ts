import {
  assertUnreachable,
  ClientSnapshot,
  decide,
  Decision,
  Effect,
  GatePolicy,
  Phase,
  PhaseEvent,
  PhaseState,
} from '@keyshift/domain';
import { AuditEntry } from '../audit/audit-log.service';
import { ClientEntity } from './client.entity';
import { auditSummary, viewFromEntity } from './client-view';

/** The columns a transition writes; nothing else on the row changes. */
export const TRANSITION_COLUMNS = [
  'phase',
  'state',
  'paused',
  'stateReason',
  'nextCheckAt',
  'attempts',
  'cutoverConfirmedAt',
  'phaseEnteredAt',
  'serverRevertTo',
  'leaseId',
  'leaseUntil',
  'version',
  'updatedAt',
] as const satisfies readonly (keyof ClientEntity)[];

export function transitionColumns(row: ClientEntity): Pick<ClientEntity, (typeof TRANSITION_COLUMNS)[number]> {
  return Object.fromEntries(TRANSITION_COLUMNS.map((c) => [c, row[c]])) as Pick<
    ClientEntity,
    (typeof TRANSITION_COLUMNS)[number]
  >;
}

export function snapshotOf(c: ClientEntity): ClientSnapshot {
  return {
    phase: c.phase,
    state: c.state,
    paused: c.paused,
    senderConstraint: c.targetSenderConstraint,
    cutover: c.targetCutover,
    cutoverConfirmedAt: c.cutoverConfirmedAt,
    phaseEnteredAt: c.phaseEnteredAt,
    attempts: c.attempts,
    reason: c.stateReason,
  };
}

export interface TransitionPlan {
  /** The row as it will be written (version bumped). */
  after: ClientEntity;
  /** The audit event that goes in the same transaction. */
  audit: AuditEntry;
  effects: Effect[];
}

export interface PlanInput {
  client: ClientEntity;
  event: PhaseEvent;
  now: Date;
  policy: GatePolicy;
  actor: string;
  /** The lease a client entering or staying in `running` holds afterwards. */
  lease: { leaseId: string | null; leaseUntil: Date | null };
  auditDetail?: Record<string, unknown>;
}

/**
 * One phase-machine step for a stored client, decided and shaped for writing: the new row and its
 * audit event, or the machine's refusal. Shared by the API's single transitions and the worker's
 * batched sweep, so both record the same facts.
 */
export function planTransition(
  input: PlanInput,
): { ok: true; plan: TransitionPlan } | Extract<Decision, { ok: false }> {
  const { client, event, now, policy, actor, lease, auditDetail } = input;
  const decision = decide(snapshotOf(client), event, now, policy);
  if (!decision.ok) return decision;
  const { next } = decision;
  const running = next.state === PhaseState.Running;
  const after: ClientEntity = {
    ...client,
    phase: next.phase,
    state: next.state,
    paused: next.paused,
    stateReason: next.reason,
    nextCheckAt: next.nextCheckAt,
    attempts: next.attempts,
    cutoverConfirmedAt: next.cutoverConfirmedAt,
    phaseEnteredAt: next.phaseEnteredAt,
    serverRevertTo: revertTarget(decision.effects) ?? client.serverRevertTo,
    leaseId: running ? lease.leaseId : null,
    leaseUntil: running ? lease.leaseUntil : null,
    version: client.version + 1,
    updatedAt: now,
  };
  return {
    ok: true,
    plan: {
      after,
      effects: decision.effects,
      audit: {
        actor,
        action: `client.${event.type}`,
        subjectType: 'client',
        subjectId: client.id,
        before: auditSummary(viewFromEntity(client)),
        after: { ...auditSummary(viewFromEntity(after)), event, effects: decision.effects, ...auditDetail },
      },
    },
  };
}

/**
 * The phase whose server-side registration must be restored after this transition: the one rolled
 * back to, or, after a failed cutover, the registration from before the switch.
 */
function revertTarget(effects: Effect[]): Phase | null {
  let target: Phase | null = null;
  for (const effect of effects) {
    switch (effect.type) {
      case 'revert_at_server':
        target = effect.to;
        break;
      case 'switch_back_to_secret':
        target = Phase.ParallelAuth;
        break;
      case 'run_phase':
      case 'shred_secret':
        break;
      default:
        assertUnreachable(effect);
    }
  }
  return target;
}
