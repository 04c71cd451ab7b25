import { Inject, Injectable } from '@nestjs/common';
import { Clock, DomainError, ErrorCode } from '@keyshift/common';
import { gatePolicyOf, KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Effect, GatePolicy, PhaseEvent } from '@keyshift/domain';
import { Transactions, Tx } from '@keyshift/database';
import { AuditLog } from '../audit/audit-log.service';
import { SecretStatus } from './client.entity';
import { ClientsRepository } from './clients.repository';
import { ServerReverts } from './server-reverts';
import { ClientView, viewFromEntity } from './client-view';
import { planTransition, transitionColumns } from './transition-plan';

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

/**
 * Applies phase-machine events to stored clients: read, decide (pure), then one transaction that
 * writes `WHERE id = $1 AND version = $2` and appends the audit event. Zero rows updated means
 * someone else moved the client first: a 409, never a silent overwrite.
 */
@Injectable()
export class ClientTransitions {
  private readonly policy: GatePolicy;

  constructor(
    private readonly clients: ClientsRepository,
    private readonly transactions: Transactions,
    @Inject(KEYSHIFT_CONFIG) config: KeyshiftConfig,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly reverts: ServerReverts,
  ) {
    this.policy = gatePolicyOf(config);
  }

  async apply(
    clientRowId: string,
    event: PhaseEvent,
    actor: string,
    options: TransitionOptions = {},
  ): Promise<TransitionResult> {
    const result = await this.transactions.run((tx) => this.applyIn(tx, clientRowId, event, actor, options));
    if (result.client.registration.revertPending) await this.reverts.enqueue(result.client.id, result.client.version);
    return result;
  }

  async applyIn(
    manager: Tx,
    clientRowId: string,
    event: PhaseEvent,
    actor: string,
    options: TransitionOptions = {},
  ): Promise<TransitionResult> {
    const client = await this.clients.findById(clientRowId, manager);
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

    const planned = planTransition({
      client,
      event,
      now: this.clock.now(),
      policy: this.policy,
      actor,
      lease: { leaseId: client.leaseId, leaseUntil: client.leaseUntil }, // a write-back keeps its lease
      auditDetail: options.auditDetail,
    });
    if (!planned.ok) {
      const code = planned.refusal === 'gate_not_met' ? ErrorCode.GateNotMet : ErrorCode.TransitionNotAllowed;
      throw new DomainError(code, planned.message, { phase: client.phase, state: client.state });
    }
    const { after, audit, effects } = planned.plan;
    if (!(await this.clients.writeTransitionAtVersion(manager, client.id, client.version, transitionColumns(after)))) {
      throw new DomainError(
        ErrorCode.VersionConflict,
        'the client changed while this request was being decided; re-read and retry',
        {
          currentVersion: client.version + 1,
        },
      );
    }
    const shred = effects.some((e) => e.type === 'shred_secret');
    // Crypto-shredding, in the transaction that records the evidence that made it safe: no copy of
    // the master key can open the secret again.
    if (shred) await this.clients.shredSecret(manager, client.id, revocationProbeOf(event), after.updatedAt);
    await this.audit.append(manager, [
      audit,
      ...(shred
        ? [
            {
              actor,
              action: 'client.secret_shredded',
              subjectType: 'client',
              subjectId: client.id,
              after: { secretCiphertextDestroyed: true, fingerprintDestroyed: true, evidence: 'old secret rejected' },
            },
          ]
        : []),
    ]);
    return {
      client: viewFromEntity({ ...after, secretStatus: shred ? SecretStatus.Shredded : after.secretStatus }),
      effects,
    };
  }
}

/** The refused old-secret probe that justified a revocation, kept on the client for reports. */
function revocationProbeOf(event: PhaseEvent): string | null {
  return event.type === 'evidence' && event.evidence.kind === 'secret_probe_after_revocation'
    ? (event.evidence.probeId ?? null)
    : null;
}
