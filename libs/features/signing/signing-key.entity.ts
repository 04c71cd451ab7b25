import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

export enum SigningKeyState {
  /** Signs new reports and evidence packs. */
  Active = 'active',
  /** Signs nothing any more, but stays published so that what it signed still verifies. */
  Retired = 'retired',
}

/**
 * Keyshift's own signing keys (not a client's): they sign evidence packs, and their public halves
 * are published at /.well-known/jwks.json so a reviewer can verify a pack offline.
 */
@Entity({ name: 'signing_keys' })
@Index('UQ_signing_keys_kid', ['kid'], { unique: true })
@Index('UQ_signing_keys_one_active', ['state'], { unique: true, where: `"state" = 'active'` })
@Check('CHK_signing_keys_state', `"state" IN ('active', 'retired')`)
export class SigningKeyEntity {
  @PrimaryColumn('uuid')
  id!: string;

  /** RFC 7638 thumbprint of the public key. */
  @Column('text')
  kid!: string;

  @Column('text')
  alg!: string;

  @Column('jsonb', { name: 'public_jwk' })
  publicJwk!: Record<string, string>;

  /** Sealed by the envelope cipher (AAD = this row's id); dropped when retired. */
  @Column('bytea', { name: 'private_key_ciphertext', nullable: true, select: false })
  privateKeyCiphertext!: Buffer | null;

  @Column('text')
  state!: SigningKeyState;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'retired_at', nullable: true })
  retiredAt!: Date | null;
}
