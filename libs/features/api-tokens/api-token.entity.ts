import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

export enum Role {
  Viewer = 'viewer',
  Operator = 'operator',
  Admin = 'admin',
}

/** Roles are ordered: each includes the rights of those before it. */
export const ROLE_RANK: Record<Role, number> = { [Role.Viewer]: 0, [Role.Operator]: 1, [Role.Admin]: 2 };

@Entity({ name: 'api_tokens' })
@Check('CHK_api_tokens_role', `"role" IN ('viewer', 'operator', 'admin')`)
export class ApiTokenEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Index('UQ_api_tokens_name', { unique: true })
  @Column('text')
  name!: string;

  @Column('text')
  role!: Role;

  /** SHA-256 of the token; the token itself is never stored. */
  @Index('UQ_api_tokens_token_hash', { unique: true })
  @Column('char', { name: 'token_hash', length: 64 })
  tokenHash!: string;

  @Column('text', { name: 'created_by' })
  createdBy!: string;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt!: Date | null;
}
