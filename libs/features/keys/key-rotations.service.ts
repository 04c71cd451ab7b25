import { Inject, Injectable } from '@nestjs/common';
import { Clock, DomainError, ErrorCode, newId } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Transactions, Tx, uniqueViolation } from '@keyshift/database';
import { canResumeRotation, firstRotationStep } from '@keyshift/domain';
import { JobName, JobQueue } from '@keyshift/queue';
import { AuditLog } from '../audit/audit-log.service';
import { ClientsRepository } from '../clients/clients.repository';
import { ClientKeyEntity, KeyOrigin, KeyState } from './client-key.entity';
import { DEFAULT_KEY_ALGORITHM, isRsa, KeyAlgorithm, RsaModulusLength } from './key-algorithms';
import { KeyRotationEntity, RotationStatus, RotationStep, RotationTrigger } from './key-rotation.entity';
import { KeysRepository } from './keys.repository';
import { effectivePolicy, overlapSeconds } from './rotation-policy';

export interface StartRotation {
  trigger: RotationTrigger;
  alg?: KeyAlgorithm;
  modulusLength?: RsaModulusLength;
  /** A registered, pending BYOK key to rotate to instead of generating one. */
  keyId?: string;
}

/** Starts rotations (or resumes a failed one) and queues their steps. The steps are in KeyRotationSteps. */
@Injectable()
export class KeyRotations {
  constructor(
    private readonly keys: KeysRepository,
    private readonly clients: ClientsRepository,
    private readonly transactions: Transactions,
    private readonly queue: JobQueue,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
  ) {}

  async start(clientRowId: string, input: StartRotation, actor: string): Promise<KeyRotationEntity> {
    const rotation = await this.transactions.run(async (m) => {
      const client = await this.clients.clientForKeys(clientRowId, m);
      if (!client) throw DomainError.notFound('client', clientRowId);
      const open = await this.keys.openRotation(clientRowId, m);
      if (open) return this.resume(m, open, input, actor);

      const server = await this.clients.serverForKeys(client.authorizationServerId, m);
      const active = await this.keys.activeKey(clientRowId, m);
      const adopted = input.keyId ? await this.adoptable(m, clientRowId, input.keyId) : null;
      const alg = adopted?.alg ?? input.alg ?? active?.alg ?? DEFAULT_KEY_ALGORITHM;
      const now = this.clock.now();
      const row: KeyRotationEntity = {
        id: newId(),
        clientRowId,
        trigger: input.trigger,
        alg,
        modulusLength: modulusFor(alg, input, active),
        step: firstRotationStep(adopted !== null) as RotationStep,
        status: RotationStatus.Running,
        newKeyId: adopted?.id ?? null,
        oldKeyId: adopted ? (active?.id ?? null) : null,
        overlapSeconds: overlapSeconds({
          serverJwksCacheSeconds: server.jwksCacheSeconds,
          servedMaxAgeSeconds: this.config.keys.jwksMaxAgeSeconds,
          assertionSeconds: server.maxAssertionSeconds,
          marginSeconds: this.config.keys.overlapMarginSeconds,
          policyOverlapSeconds: effectivePolicy(client.rotationPolicy, server.rotationPolicy).overlapSeconds,
        }),
        nextStepAt: now,
        attempts: 0,
        lastError: null,
        version: 1,
        createdAt: now,
        updatedAt: now,
        finishedAt: null,
      };
      try {
        await this.keys.insertRotation(m, row);
      } catch (error) {
        if (uniqueViolation(error))
          throw new DomainError(ErrorCode.VersionConflict, 'a rotation of this client has just started');
        throw error;
      }
      await this.audit.append(m, [
        {
          actor,
          action: 'key_rotation.started',
          subjectType: 'client',
          subjectId: clientRowId,
          after: {
            rotationId: row.id,
            trigger: row.trigger,
            alg: row.alg,
            overlapSeconds: row.overlapSeconds,
            adoptedKeyId: row.newKeyId,
          },
        },
      ]);
      return row;
    });
    await this.enqueueStep(rotation);
    return rotation;
  }

  /** Queues the rotation's current step (idempotent: one job per rotation version). */
  async enqueueStep(rotation: Pick<KeyRotationEntity, 'id' | 'version' | 'nextStepAt'>): Promise<void> {
    if (!rotation.nextStepAt) return; // waits for a person
    await this.queue.enqueue(
      { name: JobName.KeyRotationStep, data: { rotationId: rotation.id, version: rotation.version } },
      rotation.nextStepAt.getTime() - this.clock.now().getTime(),
    );
  }

  /** A failed rotation starts again at the step it failed; one in progress is left alone. */
  private async resume(
    m: Tx,
    open: KeyRotationEntity,
    input: StartRotation,
    actor: string,
  ): Promise<KeyRotationEntity> {
    if (!canResumeRotation(open.status)) {
      throw new DomainError(
        ErrorCode.TransitionNotAllowed,
        `a rotation of this client is already in progress (step ${open.step}, ${open.status})`,
        { rotationId: open.id },
      );
    }
    if (input.alg || input.modulusLength || input.keyId) {
      throw new DomainError(
        ErrorCode.TransitionNotAllowed,
        `a failed rotation is open (step ${open.step}: ${open.lastError}); resume it with an empty body`,
        { rotationId: open.id },
      );
    }
    const now = this.clock.now();
    const resumed = {
      ...open,
      status: RotationStatus.Running,
      attempts: 0,
      lastError: null,
      nextStepAt: now,
      version: open.version + 1,
      updatedAt: now,
    };
    const written = await this.keys.updateRotationAtVersion(m, open.id, open.version, {
      status: resumed.status,
      attempts: 0,
      lastError: null,
      nextStepAt: now,
      version: resumed.version,
      updatedAt: now,
    });
    if (!written) throw new DomainError(ErrorCode.VersionConflict, 'the rotation changed meanwhile; try again');
    await this.audit.append(m, [
      {
        actor,
        action: 'key_rotation.resumed',
        subjectType: 'client',
        subjectId: open.clientRowId,
        after: { rotationId: open.id, step: open.step, previousError: open.lastError },
      },
    ]);
    return resumed;
  }

  private async adoptable(m: Tx, clientRowId: string, keyId: string): Promise<ClientKeyEntity> {
    const key = await this.keys.keyOfClient(clientRowId, keyId, m);
    if (!key) throw DomainError.validation([{ field: 'keyId', message: 'no such key for this client' }]);
    if (key.state !== KeyState.Pending || key.origin !== KeyOrigin.Byok) {
      throw DomainError.validation([
        { field: 'keyId', message: `must be a pending bring-your-own key (it is ${key.origin}, ${key.state})` },
      ]);
    }
    return key;
  }
}

/**
 * The RSA modulus for the next key: as asked, else the active key's (a 3072-bit key is not
 * replaced by a 2048-bit one), else 2048. Refused for algorithms that have none.
 */
function modulusFor(alg: KeyAlgorithm, input: StartRotation, active: ClientKeyEntity | null): number | null {
  if (!isRsa(alg)) {
    if (input.modulusLength)
      throw DomainError.validation([{ field: 'modulusLength', message: `applies to RSA algorithms only, not ${alg}` }]);
    return null;
  }
  if (input.modulusLength) return input.modulusLength;
  if (active?.publicJwk.kty === 'RSA') return Buffer.from(active.publicJwk.n, 'base64url').length * 8;
  return 2048;
}
