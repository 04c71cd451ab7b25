import { createPrivateKey, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Clock, DomainError, ErrorCode, newId } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Transactions, uniqueViolation } from '@keyshift/database';
import { actorOf, Principal } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { ClientEntity } from '../clients/client.entity';
import { ClientsRepository } from '../clients/clients.repository';
import { KeyOrigin, KeyState } from './client-key.entity';
import { RotationTrigger } from './key-rotation.entity';
import { KeyRotations } from './key-rotations.service';
import { KeyVault } from './key-vault';
import { KeyView, RotationView, toKeyView, toRotationView } from './key-views';
import { publicJwkOf } from './key-generator';
import { JwksChanges } from './jwks-changes';
import { KeysRepository } from './keys.repository';
import { ExportKeyDto, RegisterOwnKeyDto, RotateKeyDto, RotationPolicyDto } from './keys.dto';
import { checkUploadedJwk, verifyPossession } from './own-key-registration';
import { RotationPolicy, windowProblem } from './rotation-policy';

export interface ClientKeysView {
  jwksUri: string | null;
  keys: KeyView[];
  rotation: RotationView | null;
  rotationPolicy: RotationPolicy | null;
}

/** The API side of key management: list, rotate, export, bring your own key, rotation policies. */
@Injectable()
export class KeysService {
  constructor(
    private readonly keys: KeysRepository,
    private readonly clients: ClientsRepository,
    private readonly transactions: Transactions,
    private readonly rotations: KeyRotations,
    private readonly vault: KeyVault,
    private readonly jwks: JwksChanges,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
  ) {}

  async list(clientRowId: string): Promise<ClientKeysView> {
    const client = await this.client(clientRowId);
    const [keys, rotation] = await Promise.all([this.keys.keysOf(clientRowId), this.keys.latestRotation(clientRowId)]);
    return {
      jwksUri: client.jwksId ? this.jwksUri(client.jwksId) : null,
      keys: keys.map(toKeyView),
      rotation: rotation ? toRotationView(rotation) : null,
      rotationPolicy: client.rotationPolicy,
    };
  }

  async rotate(clientRowId: string, input: RotateKeyDto, by: Principal): Promise<RotationView> {
    return toRotationView(
      await this.rotations.start(clientRowId, { ...input, trigger: RotationTrigger.Manual }, actorOf(by)),
    );
  }

  /** Hands a managed private key to the workload that will sign with it. Admin only; audited before it leaves. */
  async export(clientRowId: string, keyId: string, input: ExportKeyDto, by: Principal) {
    const key = await this.keys.keyWithCiphertext(clientRowId, keyId);
    if (!key) throw DomainError.notFound('key', keyId);
    if (key.origin !== KeyOrigin.Managed)
      throw new DomainError(ErrorCode.TransitionNotAllowed, 'Keyshift holds no private key for a bring-your-own key');
    if (key.state === KeyState.Retired)
      throw new DomainError(ErrorCode.TransitionNotAllowed, 'the key is retired; it is not exported any more');
    await this.audit.record([
      {
        actor: actorOf(by),
        action: 'client_key.exported',
        subjectType: 'client',
        subjectId: clientRowId,
        after: { keyId, kid: key.kid, format: input.format },
      },
    ]);
    const jwk = this.vault.openJwk(key.id, key.privateKeyCiphertext!);
    const privateKey =
      input.format === 'jwk'
        ? jwk
        : createPrivateKey({ key: { ...jwk, kid: undefined, alg: undefined } as never, format: 'jwk' })
            .export({ type: 'pkcs8', format: 'pem' })
            .toString();
    return { keyId, kid: key.kid, alg: key.alg, format: input.format, privateKey };
  }

  async challenge(clientRowId: string) {
    await this.client(clientRowId);
    const now = this.clock.now();
    const row = {
      id: newId(),
      clientRowId,
      nonce: randomBytes(32).toString('base64url'),
      expiresAt: new Date(now.getTime() + this.config.keys.challengeSeconds * 1000),
      usedAt: null,
      createdAt: now,
    };
    await this.keys.insertChallenge(row);
    return { challengeId: row.id, nonce: row.nonce, expiresAt: row.expiresAt.toISOString() };
  }

  /** Registers a workload's own public key as pending, once it has signed a fresh challenge with it. */
  async registerOwnKey(clientRowId: string, input: RegisterOwnKeyDto, by: Principal): Promise<KeyView> {
    checkUploadedJwk(input.jwk, input.alg);
    // The challenge is spent whatever follows: one try per nonce.
    const nonce = await this.keys.spendChallenge(input.challengeId, clientRowId, this.clock.now());
    if (!nonce)
      throw DomainError.validation([
        { field: 'challengeId', message: 'unknown, expired or already used for this client' },
      ]);
    await verifyPossession(input.jwk, input.alg, input.proof, nonce);

    const publicJwk = await publicJwkOf(input.alg, input.jwk);
    const now = this.clock.now();
    const newKey = {
      id: newId(),
      clientRowId,
      kid: publicJwk.kid,
      alg: input.alg,
      origin: KeyOrigin.Byok,
      state: KeyState.Pending,
      publicJwk,
      privateKeyCiphertext: null,
      createdAt: now,
    };
    const { key, jwksId } = await this.transactions.run(async (tx) => {
      let key;
      try {
        key = await this.keys.insertKey(tx, newKey);
      } catch (error) {
        if (uniqueViolation(error))
          throw new DomainError(ErrorCode.AlreadyExists, `key ${newKey.kid} is already registered`, { field: 'jwk' });
        throw error;
      }
      const jwksId = await this.clients.ensureJwksId(tx, clientRowId);
      await this.audit.append(tx, [
        {
          actor: actorOf(by),
          action: 'client_key.registered',
          subjectType: 'client',
          subjectId: clientRowId,
          after: { keyId: key.id, kid: key.kid, alg: key.alg, origin: KeyOrigin.Byok, challengeId: input.challengeId },
        },
      ]);
      return { key, jwksId };
    });
    await this.jwks.announce(jwksId);
    return toKeyView(key);
  }

  setClientPolicy(clientRowId: string, input: RotationPolicyDto, by: Principal): Promise<RotationPolicy> {
    return this.setPolicy('client', clientRowId, input, by);
  }

  setServerPolicy(serverId: string, input: RotationPolicyDto, by: Principal): Promise<RotationPolicy> {
    return this.setPolicy('authorization_server', serverId, input, by);
  }

  /** A client's or a server's rotation policy, replaced and audited in one transaction. */
  private async setPolicy(
    subjectType: 'client' | 'authorization_server',
    id: string,
    input: RotationPolicyDto,
    by: Principal,
  ): Promise<RotationPolicy> {
    const policy = toPolicy(input);
    await this.transactions.run(async (tx) => {
      const before = await this.clients.rotationPolicyOf(subjectType, id, tx);
      if (!before) throw DomainError.notFound(subjectType.replace('_', ' '), id);
      await this.clients.setRotationPolicy(tx, subjectType, id, policy);
      await this.audit.append(tx, [
        {
          actor: actorOf(by),
          action: `${subjectType}.rotation_policy_set`,
          subjectType,
          subjectId: id,
          before: { rotationPolicy: before.rotationPolicy },
          after: { rotationPolicy: policy },
        },
      ]);
    });
    return policy;
  }

  private async client(clientRowId: string): Promise<Pick<ClientEntity, 'id' | 'jwksId' | 'rotationPolicy'>> {
    const client = await this.clients.clientForKeys(clientRowId);
    if (!client) throw DomainError.notFound('client', clientRowId);
    return client;
  }

  jwksUri(jwksId: string): string {
    return `${this.config.api.publicUrl}/jwks/${jwksId}.json`;
  }
}

function toPolicy(input: RotationPolicyDto): RotationPolicy {
  const window = input.window ?? null;
  const problem = window === null ? null : windowProblem(window);
  if (problem) throw DomainError.validation([{ field: 'window', message: problem }]);
  return { periodDays: input.periodDays, window, overlapSeconds: input.overlapSeconds ?? null };
}
