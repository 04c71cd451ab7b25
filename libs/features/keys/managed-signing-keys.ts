import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { batchedReads } from '@keyshift/database';
import { DataSource } from 'typeorm';
import { SigningKey } from '../probes/client-assertion';
import { ClientSigningKeys } from '../probes/client-signing-keys';
import { KeyVault } from './key-vault';

/** Probes sign with the keys Keyshift manages: the active one, or a rotation's pending one. */
@Injectable()
export class ManagedSigningKeys extends ClientSigningKeys {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly vault: KeyVault,
  ) {
    super();
  }

  /** Which clients have an active managed key: a sweep asks for thousands at once. */
  private readonly signable = batchedReads<string, true>(async (ids) => {
    const rows = (await this.dataSource.query(
      `SELECT client_row_id FROM client_keys WHERE client_row_id = ANY($1::uuid[]) AND state = 'active' AND origin = 'managed'`,
      [ids],
    )) as { client_row_id: string }[];
    return new Map(rows.map((r) => [r.client_row_id, true as const]));
  });

  async canSign(clientRowId: string): Promise<boolean> {
    return (await this.signable.load(clientRowId)) === true;
  }

  async signingKey(clientRowId: string, keyId?: string): Promise<SigningKey | null> {
    const [row] = (await this.dataSource.query(
      `SELECT id, kid, alg, private_key_ciphertext FROM client_keys
       WHERE client_row_id = $1 AND origin = 'managed'
         AND ${keyId ? "id = $2 AND state IN ('pending', 'active', 'retiring')" : "state = 'active'"}`,
      keyId ? [clientRowId, keyId] : [clientRowId],
    )) as { id: string; kid: string; alg: string; private_key_ciphertext: Buffer }[];
    if (!row) return null;
    return { kid: row.kid, alg: row.alg, privateKey: this.vault.openKeyObject(row.id, row.private_key_ciphertext) };
  }
}
