import { Inject, Injectable } from '@nestjs/common';
import { Clock, Logger, LOGGER, newId } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Transactions, Tx } from '@keyshift/database';
import { afterRotationFailure, afterRotationStep, KeyEffect, rotationStepEffects } from '@keyshift/domain';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditEntry } from '../audit/audit-log.service';
import { AuditLog } from '../audit/audit-log.service';
import { ProbeMethod, ProbeOutcome } from '../probes/probe.entity';
import { ProbeNotPossible, ProbeRunner } from '../probes/probe-runner.service';
import { ClientsRepository } from '../clients/clients.repository';
import { KeyOrigin, KeyState } from './client-key.entity';
import { KeyAlgorithm, RsaModulusLength } from './key-algorithms';
import { KeyGenerator } from './key-generator';
import { KeyRotationEntity, RotationStatus, RotationStep } from './key-rotation.entity';
import { KeyRotations } from './key-rotations.service';
import { KeyVault } from './key-vault';
import { JwksChanges } from './jwks-changes';
import { KeysRepository } from './keys.repository';

/** What a step changes on the rotation row, and the audit events it appends. */
interface StepResult {
  next: Partial<KeyRotationEntity> & { step: RotationStep; status: RotationStatus; nextStepAt: Date | null };
  events: Omit<AuditEntry, 'actor' | 'subjectType' | 'subjectId'>[];
  /** Key changes written in the same transaction as the rotation row. */
  write?: (tx: Tx) => Promise<void>;
}

class StepFailed extends Error {}

/** A key change that must change exactly one row; otherwise the step's transaction is rolled back. */
async function changeOne(count: Promise<number>, otherwise: string): Promise<void> {
  if ((await count) !== 1) throw new StepFailed(otherwise);
}

/**
 * Carries a rotation out one step per job: create -> publish -> (overlap) -> test -> promote ->
 * (overlap) -> retire -> done. Every step reads the row, acts, and writes the row back with its
 * key changes and audit events in one transaction guarded by the row's version, so a step that
 * runs twice (a redelivered job, a killed worker) changes nothing the second time. The published
 * JWKS is announced after each commit. A failed step is on the row (status failed, last_error) and
 * retried with exponential backoff, up to KEYSHIFT_PHASE_MAX_ATTEMPTS; then it waits for a person
 * (POST /v1/clients/{id}/keys/rotate resumes it).
 */
@Injectable()
export class KeyRotationSteps {
  constructor(
    private readonly keys: KeysRepository,
    private readonly clients: ClientsRepository,
    private readonly transactions: Transactions,
    private readonly generator: KeyGenerator,
    private readonly vault: KeyVault,
    private readonly probes: ProbeRunner,
    private readonly jwks: JwksChanges,
    private readonly rotations: KeyRotations,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Runs the rotation's current step if it is due and still at `version`; returns the row as left. */
  async run(rotationId: string, version?: number): Promise<KeyRotationEntity | null> {
    const rotation = await this.keys.rotationById(rotationId);
    if (!rotation || rotation.status === RotationStatus.Done) return rotation;
    if (version !== undefined && rotation.version !== version) return rotation; // a newer job has it
    const now = this.clock.now();
    if (!rotation.nextStepAt || rotation.nextStepAt > now) return rotation;

    let written: KeyRotationEntity | null;
    try {
      written = await this.commit(rotation, await this.step(rotation));
    } catch (error) {
      // The step, or writing its outcome: either way the row says what went wrong, and is retried.
      if (!(error instanceof StepFailed || error instanceof ProbeNotPossible))
        this.logger.error({ err: (error as Error).message, rotationId }, 'rotation step crashed');
      written = await this.failed(rotation, (error as Error).message);
    }
    if (written) await this.rotations.enqueueStep(written);
    return written;
  }

  private async step(r: KeyRotationEntity): Promise<StepResult> {
    switch (r.step) {
      case RotationStep.Create:
        return this.create(r);
      case RotationStep.Publish:
        return this.publish(r);
      case RotationStep.Test:
        return this.test(r);
      case RotationStep.Promote:
        return this.promote(r);
      case RotationStep.Retire:
        return this.retire(r);
      case RotationStep.Done:
        return { next: { step: RotationStep.Done, status: RotationStatus.Done, nextStepAt: null }, events: [] };
    }
  }

  private async create(r: KeyRotationEntity): Promise<StepResult> {
    const generated = await this.generator.generate({
      alg: r.alg as KeyAlgorithm,
      modulusLength: (r.modulusLength ?? undefined) as RsaModulusLength | undefined,
    });
    const keyId = newId();
    const now = this.clock.now();
    const active = await this.keys.activeKey(r.clientRowId);
    return {
      next: {
        ...this.next(r, now),
        newKeyId: keyId,
        oldKeyId: active?.id ?? null,
      },
      events: [
        {
          action: 'client_key.created',
          after: { keyId, kid: generated.kid, alg: r.alg, origin: KeyOrigin.Managed, state: KeyState.Pending },
        },
      ],
      write: async (tx) => {
        await this.keys.insertKey(tx, {
          id: keyId,
          clientRowId: r.clientRowId,
          kid: generated.kid,
          alg: r.alg as KeyAlgorithm,
          origin: KeyOrigin.Managed,
          state: KeyState.Pending,
          publicJwk: generated.publicJwk,
          privateKeyCiphertext: this.vault.seal(keyId, generated.privateJwk),
          createdAt: now,
        });
        await this.clients.ensureJwksId(tx, r.clientRowId);
      },
    };
  }

  /** The pending key is in the JWKS from creation; publishing starts the clock once it is announced. */
  private async publish(r: KeyRotationEntity): Promise<StepResult> {
    await this.announce(r.clientRowId);
    const now = this.clock.now();
    const next = this.next(r, now);
    const safeAt = next.nextStepAt!;
    return {
      next,
      events: [
        {
          action: 'key_rotation.published',
          after: { rotationId: r.id, keyId: r.newKeyId, testNotBefore: safeAt.toISOString() },
        },
      ],
    };
  }

  private async test(r: KeyRotationEntity): Promise<StepResult> {
    const key = await this.keys.keyById(r.newKeyId!);
    const now = this.clock.now();
    if (key.origin === KeyOrigin.Byok) {
      // Keyshift cannot sign with a key the workload holds; possession was proven when it was registered.
      return {
        next: this.next(r, now),
        events: [
          {
            action: 'key_rotation.tested',
            after: { rotationId: r.id, kid: key.kid, by: 'proof_of_possession_at_registration' },
          },
        ],
      };
    }
    const probe = await this.probes.run({
      clientRowId: r.clientRowId,
      method: ProbeMethod.PrivateKeyJwt,
      dpop: false,
      purpose: `key_rotation:${r.id}`,
      keyId: key.id,
    });
    if (probe.outcome !== ProbeOutcome.Ok) {
      throw new StepFailed(
        `the private_key_jwt probe signed with the new key ${key.kid} ended ${probe.outcome}` +
          (probe.errorCode
            ? ` (${probe.errorCode}${probe.detail ? `: ${probe.detail}` : ''})`
            : probe.detail
              ? ` (${probe.detail})`
              : ''),
      );
    }
    return {
      next: this.next(r, now),
      events: [{ action: 'key_rotation.tested', after: { rotationId: r.id, kid: key.kid, probeId: probe.id } }],
    };
  }

  private async promote(r: KeyRotationEntity): Promise<StepResult> {
    const now = this.clock.now();
    const next = this.next(r, now);
    return {
      next,
      events: [
        { action: 'client_key.activated', after: { keyId: r.newKeyId, replaces: r.oldKeyId } },
        ...(r.oldKeyId
          ? [
              {
                action: 'client_key.retiring',
                after: { keyId: r.oldKeyId, retireNotBefore: next.nextStepAt!.toISOString() },
              },
            ]
          : []),
      ],
      // The old key leaves `active` first (the machine orders it): one active key per client is a unique index.
      write: (tx) => this.apply(tx, r, now),
    };
  }

  private async retire(r: KeyRotationEntity): Promise<StepResult> {
    const now = this.clock.now();
    return {
      next: this.next(r, now),
      events: [
        { action: 'client_key.retired', after: { keyId: r.oldKeyId, rotationId: r.id, privateKeyDestroyed: true } },
      ],
      // A retired key is never used again: its sealed private key is destroyed with the state change.
      write: (tx) => this.apply(tx, r, now),
    };
  }

  /** The row after the current step succeeds, as the rotation machine (libs/domain key-rotation.ts) says. */
  private next(r: KeyRotationEntity, now: Date): StepResult['next'] {
    const outcome = afterRotationStep(r.step, { hasOldKey: r.oldKeyId !== null });
    const nextStepAt =
      outcome.wait === 'now'
        ? now
        : outcome.wait === 'overlap'
          ? new Date(now.getTime() + r.overlapSeconds * 1000)
          : null;
    return {
      step: outcome.step as RotationStep,
      status: outcome.status as RotationStatus,
      nextStepAt,
      ...(outcome.status === 'done' ? { finishedAt: now } : {}),
    };
  }

  /** The current step's changes to existing keys (a created key is inserted by `create`), each on exactly one row. */
  private async apply(tx: Tx, r: KeyRotationEntity, now: Date): Promise<void> {
    for (const effect of rotationStepEffects(r.step, { hasOldKey: r.oldKeyId !== null }))
      await this.effect(tx, r, effect, now);
  }

  private effect(tx: Tx, r: KeyRotationEntity, effect: KeyEffect, now: Date): Promise<void> {
    if (effect.key === 'new' && effect.to === 'active')
      return changeOne(this.keys.activate(tx, r.newKeyId!, now), 'the new key is no longer pending');
    if (effect.key === 'old' && effect.to === 'retiring')
      return changeOne(this.keys.startRetiring(tx, r.oldKeyId!, now), 'the old key is no longer active');
    if (effect.key === 'old' && effect.to === 'retired')
      return changeOne(this.keys.retire(tx, r.oldKeyId!, now), 'the old key is no longer retiring');
    throw new Error(`step ${r.step}: key effect ${effect.key} -> ${effect.to} is not applied to an existing key`);
  }

  /** Writes the step's outcome under the row's version; null when another run got there first. */
  private async commit(r: KeyRotationEntity, result: StepResult): Promise<KeyRotationEntity | null> {
    const next = await this.writeBack(r, { ...result.next, attempts: 0, lastError: null }, result.events, result.write);
    if (next && result.write) await this.announce(r.clientRowId);
    return next;
  }

  /** Records a failed attempt at the step: retried with exponential backoff, then left for a person. */
  private failed(r: KeyRotationEntity, reason: string): Promise<KeyRotationEntity | null> {
    const { attempts, retryInMs } = afterRotationFailure(r.attempts, this.config.reconcile.maxAttempts);
    const retryAt = retryInMs === null ? null : new Date(this.clock.now().getTime() + retryInMs);
    return this.writeBack(r, { status: RotationStatus.Failed, attempts, lastError: reason, nextStepAt: retryAt }, [
      {
        action: 'key_rotation.step_failed',
        after: { rotationId: r.id, step: r.step, attempt: attempts, reason, retryAt: retryAt?.toISOString() ?? null },
      },
    ]);
  }

  /**
   * The row change, the step's key changes and its audit events in one transaction, guarded by the
   * row's version. A lost race rolls everything back (so a key generated by a duplicate run is
   * never stored) and returns null.
   */
  private async writeBack(
    r: KeyRotationEntity,
    change: Partial<KeyRotationEntity>,
    events: StepResult['events'],
    write?: StepResult['write'],
  ): Promise<KeyRotationEntity | null> {
    const next: KeyRotationEntity = { ...r, ...change, version: r.version + 1, updatedAt: this.clock.now() };
    const { id: _id, clientRowId: _c, createdAt: _t, client: _client, ...columns } = next;
    const written = await this.transactions.run(async (tx) => {
      if (!(await this.keys.updateRotationAtVersion(tx, r.id, r.version, columns))) return false;
      await write?.(tx);
      await this.audit.append(
        tx,
        events.map((e) => ({ ...e, actor: SYSTEM_ACTORS.worker, subjectType: 'client', subjectId: r.clientRowId })),
      );
      return true;
    });
    return written ? next : null;
  }

  private async announce(clientRowId: string): Promise<void> {
    const jwksId = await this.clients.jwksIdOf(clientRowId);
    if (jwksId) await this.jwks.announce(jwksId);
  }
}
