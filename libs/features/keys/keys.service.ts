import { createPrivateKey, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, DomainError, ErrorCode, newId } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { uniqueViolation, write } from '@keyshift/database';
import { DataSource } from 'typeorm';
import { actorOf, Principal } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientEntity } from '../clients/client.entity';
import { ClientKeyEntity, KeyOrigin, KeyState } from './client-key.entity';
import { KeyRotationEntity, RotationTrigger } from './key-rotation.entity';
import { KeyRotations } from './key-rotations.service';
import { KeyVault } from './key-vault';
import { KeyView, RotationView, toKeyView, toRotationView } from './key-views';
import { publicJwkOf } from './key-generator';
import { JwksChanges } from './jwks-changes';
import { ensureJwksId } from './jwks-id';
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
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly rotations: KeyRotations,
    private readonly vault: KeyVault,
    private readonly jwks: JwksChanges,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
  ) {}

  async list(clientRowId: string): Promise<ClientKeysView> {
    const client = await this.client(clientRowId);
    const [keys, rotation] = await Promise.all([
      this.dataSource.getRepository(ClientKeyEntity).find({ where: { clientRowId }, order: { createdAt: 'ASC' } }),
      this.dataSource.getRepository(KeyRotationEntity).findOne({ where: { clientRowId }, order: { id: 'DESC' } }),
    ]);
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
    const key = await this.dataSource.getRepository(ClientKeyEntity).findOne({
      where: { id: keyId, clientRowId },
      select: { id: true, kid: true, alg: true, origin: true, state: true, privateKeyCiphertext: true },
    });
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
    await this.dataSource.query(
      'INSERT INTO key_possession_challenges (id, client_row_id, nonce, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)',
      [row.id, clientRowId, row.nonce, row.expiresAt, now],
    );
    return { challengeId: row.id, nonce: row.nonce, expiresAt: row.expiresAt.toISOString() };
  }

  /** Registers a workload's own public key as pending, once it has signed a fresh challenge with it. */
  async registerOwnKey(clientRowId: string, input: RegisterOwnKeyDto, by: Principal): Promise<KeyView> {
    checkUploadedJwk(input.jwk, input.alg);
    // The challenge is spent whatever follows: one try per nonce.
    const {
      rows: [spent],
    } = await write<{ nonce: string }>(
      this.dataSource.manager,
      `UPDATE key_possession_challenges SET used_at = $3
         WHERE id = $1 AND client_row_id = $2 AND used_at IS NULL AND expires_at > $3 RETURNING nonce`,
      [input.challengeId, clientRowId, this.clock.now()],
    );
    const nonce = spent?.nonce;
    if (!nonce)
      throw DomainError.validation([
        { field: 'challengeId', message: 'unknown, expired or already used for this client' },
      ]);
    await verifyPossession(input.jwk, input.alg, input.proof, nonce);

    const publicJwk = await publicJwkOf(input.alg, input.jwk);
    const now = this.clock.now();
    const key: ClientKeyEntity = {
      id: newId(),
      clientRowId,
      kid: publicJwk.kid,
      alg: input.alg,
      origin: KeyOrigin.Byok,
      state: KeyState.Pending,
      publicJwk,
      privateKeyCiphertext: null,
      createdAt: now,
      activatedAt: null,
      retiringAt: null,
      retiredAt: null,
    };
    const jwksId = await this.dataSource.transaction(async (m) => {
      try {
        await m.getRepository(ClientKeyEntity).insert(key);
      } catch (error) {
        if (uniqueViolation(error))
          throw new DomainError(ErrorCode.AlreadyExists, `key ${key.kid} is already registered`, { field: 'jwk' });
        throw error;
      }
      const jwksId = await ensureJwksId(m, clientRowId);
      await this.audit.append(m, [
        {
          actor: actorOf(by),
          action: 'client_key.registered',
          subjectType: 'client',
          subjectId: clientRowId,
          after: { keyId: key.id, kid: key.kid, alg: key.alg, origin: KeyOrigin.Byok, challengeId: input.challengeId },
        },
      ]);
      return jwksId;
    });
    await this.jwks.announce(jwksId);
    return toKeyView(key);
  }

  setClientPolicy(clientRowId: string, input: RotationPolicyDto, by: Principal): Promise<RotationPolicy> {
    return this.setPolicy(ClientEntity, 'client', clientRowId, input, by);
  }

  setServerPolicy(serverId: string, input: RotationPolicyDto, by: Principal): Promise<RotationPolicy> {
    return this.setPolicy(AuthorizationServerEntity, 'authorization_server', serverId, input, by);
  }

  /** A client's or a server's rotation policy, replaced and audited in one transaction. */
  private async setPolicy(
    entity: typeof ClientEntity | typeof AuthorizationServerEntity,
    subjectType: 'client' | 'authorization_server',
    id: string,
    input: RotationPolicyDto,
    by: Principal,
  ): Promise<RotationPolicy> {
    const policy = toPolicy(input);
    await this.dataSource.transaction(async (m) => {
      const repository = m.getRepository<{ id: string; rotationPolicy: RotationPolicy | null }>(entity);
      const before = await repository.findOne({ where: { id }, select: { id: true, rotationPolicy: true } });
      if (!before) throw DomainError.notFound(subjectType.replace('_', ' '), id);
      await repository.update(id, { rotationPolicy: policy });
      await this.audit.append(m, [
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
    const client = await this.dataSource.getRepository(ClientEntity).findOne({
      where: { id: clientRowId },
      select: { id: true, jwksId: true, rotationPolicy: true },
    });
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
