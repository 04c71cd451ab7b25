import { Injectable } from '@nestjs/common';
import { Clock, newId } from '@keyshift/common';
import { Transactions, uniqueViolation } from '@keyshift/database';
import { usableAlg } from '@keyshift/domain';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientsRepository } from '../clients/clients.repository';
import { KeyOrigin, KeyState } from '../keys/client-key.entity';
import { DEFAULT_KEY_ALGORITHM, KeyAlgorithm } from '../keys/key-algorithms';
import { KeyGenerator } from '../keys/key-generator';
import { KeyVault } from '../keys/key-vault';
import { JwksChanges } from '../keys/jwks-changes';
import { KeysRepository } from '../keys/keys.repository';

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
    private readonly keys: KeysRepository,
    private readonly clients: ClientsRepository,
    private readonly transactions: Transactions,
    private readonly generator: KeyGenerator,
    private readonly vault: KeyVault,
    private readonly jwks: JwksChanges,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async ensure(clientRowId: string, server: AuthorizationServerEntity): Promise<ActiveKey> {
    const existing = await this.active(clientRowId);
    if (existing) return existing;
    const open = await this.keys.openRotation(clientRowId);
    if (open) throw new KeyNotReady(`a key rotation of this client is in progress (step ${open.step})`);

    const alg = (usableAlg(server.capabilities?.tokenEndpointAuthSigningAlgs ?? []) ??
      DEFAULT_KEY_ALGORITHM) as KeyAlgorithm;
    const generated = await this.generator.generate({ alg });
    const keyId = newId();
    const now = this.clock.now();
    let jwksId: string;
    try {
      jwksId = await this.transactions.run(async (tx) => {
        await this.keys.insertKey(tx, {
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
        });
        const id = await this.clients.ensureJwksId(tx, clientRowId);
        await this.audit.append(tx, [
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
    const row = await this.keys.activeKeyWithJwksId(clientRowId);
    return row ? { keyId: row.id, kid: row.kid, alg: row.alg, jwksId: row.jwks_id } : null;
  }
}
