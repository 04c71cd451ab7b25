import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { ClientEntity } from '../clients/client.entity';

/** A nonce a BYOK workload signs to prove it holds the private key. Short-lived and single use. */
@Entity({ name: 'key_possession_challenges' })
@Index('IDX_key_possession_challenges_client', ['clientRowId'])
export class PossessionChallengeEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'client_row_id' })
  clientRowId!: string;

  @ManyToOne(() => ClientEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'client_row_id', foreignKeyConstraintName: 'FK_key_possession_challenges_client' })
  client?: ClientEntity;

  @Column('text')
  nonce!: string;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt!: Date;

  @Column('timestamptz', { name: 'used_at', nullable: true })
  usedAt!: Date | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;
}
