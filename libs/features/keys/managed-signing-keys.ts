import { Injectable } from '@nestjs/common';
import { batchedReads } from '@keyshift/database';
import { SigningKey } from '../probes/client-assertion';
import { ClientSigningKeys } from '../probes/client-signing-keys';
import { KeyVault } from './key-vault';
import { KeysRepository } from './keys.repository';

/** Probes sign with the keys Keyshift manages: the active one, or a rotation's pending one. */
@Injectable()
export class ManagedSigningKeys extends ClientSigningKeys {
  constructor(
    private readonly keys: KeysRepository,
    private readonly vault: KeyVault,
  ) {
    super();
  }

  /** Which clients have an active managed key: a sweep asks for thousands at once. */
  private readonly signable = batchedReads<string, true>(async (ids) => {
    const signable = await this.keys.withActiveManagedKey(ids);
    return new Map(signable.map((id) => [id, true as const]));
  });

  async canSign(clientRowId: string): Promise<boolean> {
    return (await this.signable.load(clientRowId)) === true;
  }

  async signingKey(clientRowId: string, keyId?: string): Promise<SigningKey | null> {
    const row = await this.keys.managedSigningKey(clientRowId, keyId);
    if (!row) return null;
    return { kid: row.kid, alg: row.alg, privateKey: this.vault.openKeyObject(row.id, row.private_key_ciphertext) };
  }
}
