import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Tx, write } from '@keyshift/database';
import { DataSource } from 'typeorm';

/** A signing key row as written: the private half already sealed to the row id by the caller. */
export interface NewSigningKey {
  id: string;
  kid: string;
  alg: string;
  publicJwk: Record<string, string>;
  sealedPrivateKey: Buffer;
  state: string;
  createdAt: Date;
}

export interface ActiveSigningKeyRow {
  id: string;
  kid: string;
  alg: string;
  private_key_ciphertext: Buffer;
}

/** All SQL on `signing_keys`, Keyshift's own report-signing keys (at most one active: a unique index). */
@Injectable()
export class SigningKeysRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private tx(tx?: Tx): Tx {
    return tx ?? this.dataSource.manager;
  }

  async insert(key: NewSigningKey, tx?: Tx): Promise<void> {
    await this.tx(tx).query(
      `INSERT INTO signing_keys (id, kid, alg, public_jwk, private_key_ciphertext, state, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [key.id, key.kid, key.alg, key.publicJwk, key.sealedPrivateKey, key.state, key.createdAt],
    );
  }

  async active(tx?: Tx): Promise<ActiveSigningKeyRow | null> {
    const [row] = (await this.tx(tx).query(
      `SELECT id, kid, alg, private_key_ciphertext FROM signing_keys WHERE state = 'active'`,
    )) as ActiveSigningKeyRow[];
    return row ?? null;
  }

  /** Every key's public JWK, the active one first, then newest first. */
  async publicJwks(tx?: Tx): Promise<Record<string, string>[]> {
    const rows = (await this.tx(tx).query(
      `SELECT public_jwk FROM signing_keys ORDER BY (state = 'active') DESC, created_at DESC`,
    )) as { public_jwk: Record<string, string> }[];
    return rows.map((r) => r.public_jwk);
  }

  /** Locks the active key until `tx` ends: serialises rotations. */
  async lockActive(tx: Tx): Promise<void> {
    await tx.query(`SELECT id FROM signing_keys WHERE state = 'active' FOR UPDATE`);
  }

  /** Retires the active key and destroys its sealed private half; returns its kid, if there was one. */
  async retireActive(tx: Tx, at: Date): Promise<string | null> {
    const {
      rows: [old],
    } = await write<{ kid: string }>(
      tx,
      `UPDATE signing_keys SET state = 'retired', retired_at = $1, private_key_ciphertext = NULL
       WHERE state = 'active' RETURNING kid`,
      [at],
    );
    return old?.kid ?? null;
  }
}
