import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, DomainError, ErrorCode } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { ClientSnapshot, decide, Effect, GatePolicy, NextState, PhaseEvent, PhaseState } from '@keyshift/domain';
import { DataSource, EntityManager } from 'typeorm';
import { AuditLog } from '../audit/audit-log.service';
import { ClientEntity } from './client.entity';
import { auditSummary, ClientView, viewFromEntity } from './client-view';

export interface TransitionOptions {
  /** Refuse unless the client is at this version (the caller's If-Match). */
  expectedVersion?: number;
  /** A worker writing back under its lease: refused unless it still holds it. */
  leaseId?: string;
  /** Extra facts for the audit event (an operator's note, the probe id...). */
  auditDetail?: Record<string, unknown>;
}

export interface TransitionResult {
  client: ClientView;
  effects: Effect[];
}

export function snapshotOf(c: ClientEntity): ClientSnapshot {
  return {
    phase: c.phase,
    state: c.state,
    paused: c.paused,
    senderConstraint: c.targetSenderConstraint,
    cutoverConfirmedAt: c.cutoverConfirmedAt,
    attempts: c.attempts,
    reason: c.stateReason,
  };
}

/** The columns a transition writes, from the machine's NextState. */
export function columnsOf(next: NextState): Partial<ClientEntity> {
  return {
    phase: next.phase,
    state: next.state,
    paused: next.paused,
    stateReason: next.reason,
    nextCheckAt: next.nextCheckAt,
    attempts: next.attempts,
    cutoverConfirmedAt: next.cutoverConfirmedAt,
  };
}

/**
 * Applies phase-machine events to stored clients: read, decide (pure), then one transaction that
 * writes `WHERE id = $1 AND version = $2` and appends the audit event. Zero rows updated means
 * someone else moved the client first: a 409, never a silent overwrite.
 */
@Injectable()
export class ClientTransitions {
  private readonly policy: GatePolicy;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(KEYSHIFT_CONFIG) config: KeyshiftConfig,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {
    this.policy = { soak: config.soak };
  }

  async apply(
    clientRowId: string,
    event: PhaseEvent,
    actor: string,
    options: TransitionOptions = {},
  ): Promise<TransitionResult> {
    return this.dataSource.transaction((manager) => this.applyIn(manager, clientRowId, event, actor, options));
  }

  async applyIn(
    manager: EntityManager,
    clientRowId: string,
    event: PhaseEvent,
    actor: string,
    options: TransitionOptions = {},
  ): Promise<TransitionResult> {
    const repo = manager.getRepository(ClientEntity);
    const client = await repo.findOne({ where: { id: clientRowId } });
    if (!client) throw DomainError.notFound('client', clientRowId);
    if (options.expectedVersion !== undefined && options.expectedVersion !== client.version) {
      throw new DomainError(
        ErrorCode.VersionConflict,
        `client is at version ${client.version}, not ${options.expectedVersion}`,
        {
          field: 'expectedVersion',
          currentVersion: client.version,
        },
      );
    }
    if (options.leaseId !== undefined && client.leaseId !== options.leaseId) {
      throw new DomainError(ErrorCode.VersionConflict, 'the worker lease on this client has expired or moved');
    }

    const now = this.clock.now();
    const decision = decide(snapshotOf(client), event, now, this.policy);
    if (!decision.ok) {
      const code = decision.refusal === 'gate_not_met' ? ErrorCode.GateNotMet : ErrorCode.TransitionNotAllowed;
      throw new DomainError(code, decision.message, { phase: client.phase, state: client.state });
    }

    const before = viewFromEntity(client);
    const stillLeased = decision.next.state === PhaseState.Running;
    const changes: Partial<ClientEntity> = {
      ...columnsOf(decision.next),
      leaseId: stillLeased ? client.leaseId : null,
      leaseUntil: stillLeased ? client.leaseUntil : null,
      version: client.version + 1,
      updatedAt: now,
    };
    const result = await repo
      .createQueryBuilder()
      .update()
      .set(changes)
      .where('id = :id AND version = :version', { id: client.id, version: client.version })
      .execute();
    if (result.affected !== 1) {
      throw new DomainError(
        ErrorCode.VersionConflict,
        'the client changed while this request was being decided; re-read and retry',
        {
          currentVersion: client.version + 1,
        },
      );
    }
    const after = viewFromEntity({ ...client, ...changes } as ClientEntity);
    await this.audit.append(manager, [
      {
        actor,
        action: `client.${event.type}`,
        subjectType: 'client',
        subjectId: client.id,
        before: auditSummary(before),
        after: {
          ...auditSummary(after),
          event: describeEvent(event),
          effects: decision.effects,
          ...options.auditDetail,
        },
      },
    ]);
    return { client: after, effects: decision.effects };
  }
}

/** The event as the audit log records it (evidence kinds and reasons, nothing secret). */
function describeEvent(event: PhaseEvent): Record<string, unknown> {
  return JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
}
