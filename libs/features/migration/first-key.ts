import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, newId } from '@keyshift/common';
import { uniqueViolation } from '@keyshift/database';
import { usableAlg } from '@keyshift/domain';
import { DataSource } from 'typeorm';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientKeyEntity, KeyOrigin, KeyState } from '../keys/client-key.entity';
import { DEFAULT_KEY_ALGORITHM, KeyAlgorithm } from '../keys/key-algorithms';
import { KeyGenerator } from '../keys/key-generator';
import { KeyVault } from '../keys/key-vault';
import { JwksChanges } from '../keys/jwks-changes';
import { ensureJwksId } from '../keys/jwks-id';

export interface ActiveKey {
  keyId: string;
  kid: string;
  alg: string;
  jwksId: string;
}

/** The client cannot get a first key now (a rotation is already making one): look again later. */
export class KeyNotReady extends Error {}

/**
 * Phase 2's first step: the client's active key, created the first time. A first key goes straight
 * to `active`: nothing at the server trusts any key of the client yet, so there is no old key to
 * overlap with. Later keys come only through rotations (KeyRotations), which do overlap.
 */
@Injectable()
export class FirstKey {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly generator: KeyGenerator,
    private readonly vault: KeyVault,
    private readonly jwks: JwksChanges,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async ensure(clientRowId: string, server: AuthorizationServerEntity): Promise<ActiveKey> {
    const existing = await this.active(clientRowId);
    if (existing) return existing;
    const [open] = (await this.dataSource.query(
      `SELECT step FROM key_rotations WHERE client_row_id = $1 AND status <> 'done'`,
      [clientRowId],
    )) as { step: string }[];
    if (open) throw new KeyNotReady(`a key rotation of this client is in progress (step ${open.step})`);

    const alg = (usableAlg(server.capabilities?.tokenEndpointAuthSigningAlgs ?? []) ??
      DEFAULT_KEY_ALGORITHM) as KeyAlgorithm;
    const generated = await this.generator.generate({ alg });
    const keyId = newId();
    const now = this.clock.now();
    let jwksId: string;
    try {
      jwksId = await this.dataSource.transaction(async (m) => {
        await m.getRepository(ClientKeyEntity).insert({
          id: keyId,
          clientRowId,
          kid: generated.kid,
          alg,
          origin: KeyOrigin.Managed,
          state: KeyState.Active,
          publicJwk: generated.publicJwk,
          privateKeyCiphertext: this.vault.seal(keyId, generated.privateJwk),
          createdAt: now,
          activatedAt: now,
          retiringAt: null,
          retiredAt: null,
        });
        const id = await ensureJwksId(m, clientRowId);
        await this.audit.append(m, [
          {
            actor: SYSTEM_ACTORS.worker,
            action: 'client_key.created',
            subjectType: 'client',
            subjectId: clientRowId,
            after: { keyId, kid: generated.kid, alg, origin: KeyOrigin.Managed, state: KeyState.Active, first: true },
          },
        ]);
        return id;
      });
    } catch (error) {
      // Another run made the first key meanwhile (one active key per client is a unique index).
      if (uniqueViolation(error)) {
        const raced = await this.active(clientRowId);
        if (raced) return raced;
      }
      throw error;
    }
    await this.jwks.announce(jwksId);
    return { keyId, kid: generated.kid, alg, jwksId };
  }

  private async active(clientRowId: string): Promise<ActiveKey | null> {
    const [row] = (await this.dataSource.query(
      `SELECT k.id, k.kid, k.alg, c.jwks_id FROM client_keys k JOIN clients c ON c.id = k.client_row_id
       WHERE k.client_row_id = $1 AND k.state = 'active'`,
      [clientRowId],
    )) as { id: string; kid: string; alg: string; jwks_id: string }[];
    return row ? { keyId: row.id, kid: row.kid, alg: row.alg, jwksId: row.jwks_id } : null;
  }
}
