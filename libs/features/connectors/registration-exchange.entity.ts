import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { RegistrationState } from '../clients/client.entity';
import { ClientEntity } from '../clients/client.entity';

/** Which RFC 7591/7592 call an exchange is. */
export enum ExchangeOperation {
  /** RFC 7592 PUT: the server may rotate the registration access token. */
  Update = 'update',
  /** RFC 7591 POST of a successor: the answer carries its client_id and only token. */
  Register = 'register',
  /** RFC 7592 DELETE: the token dies with the registration; an unrecorded delete would look like a vanished client. */
  Delete = 'delete',
}

/**
 * Where an exchange stands. `intent`: written before the request, no answer yet (the worker may have
 * died with the request in flight). `answered`: the server's answer is durable here, not yet applied
 * to the client row. `applied`: applied with the change's audit event (the journal's copy of the token
 * is destroyed then). `refused`: the server answered with an error, nothing changed. `abandoned`: an
 * interrupted intent whose old token still works (the request never took effect). `superseded`: an
 * answer whose token no longer works while the one Keyshift holds does. `lost`: the server took the
 * request but its answer never reached the journal (the protocol's limit); a person must act.
 */
export enum ExchangeStatus {
  Intent = 'intent',
  Answered = 'answered',
  Applied = 'applied',
  Refused = 'refused',
  Abandoned = 'abandoned',
  Superseded = 'superseded',
  Lost = 'lost',
}

/**
 * The journal of RFC 7591/7592 calls that can hand Keyshift a new registration access token. A row is
 * committed before the request (intent) and the answer is committed in its own short transaction
 * the moment it arrives, before any other work, so a worker killed at any point after that leaves
 * the token recoverable. Open rows (`intent`, `answered`) are recovered before the client's
 * registration is touched again.
 */
@Entity({ name: 'registration_exchanges' })
@Index('IDX_registration_exchanges_open', ['clientRowId', 'createdAt'], {
  where: `"status" IN ('intent', 'answered')`,
})
@Check('CHK_registration_exchanges_operation', `"operation" IN ('update', 'register', 'delete')`)
@Check('CHK_registration_exchanges_registration', `"registration" IN ('original', 'successor')`)
@Check(
  'CHK_registration_exchanges_status',
  `"status" IN ('intent', 'answered', 'applied', 'refused', 'abandoned', 'superseded', 'lost')`,
)
@Check(
  'CHK_registration_exchanges_token_only_answered',
  `"status" = 'answered' OR "registration_access_token_ciphertext" IS NULL`,
)
export class RegistrationExchangeEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'client_row_id' })
  clientRowId!: string;

  @ManyToOne(() => ClientEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'client_row_id', foreignKeyConstraintName: 'FK_registration_exchanges_client' })
  client?: ClientEntity;

  @Column('text')
  operation!: ExchangeOperation;

  /** Which of the row's registrations the exchange is about. */
  @Column('text')
  registration!: 'original' | 'successor';

  /** The server's client_id the request was made for (for a registration: the original's). */
  @Column('text', { name: 'client_id' })
  clientId!: string;

  /** The change requested, as the audit log records it (key sets by kid only). */
  @Column('jsonb')
  change!: Record<string, unknown>;

  /** What `registration_state` becomes once the server is shown to hold the change. */
  @Column('jsonb', { name: 'planned_state', nullable: true })
  plannedState!: RegistrationState | null;

  @Column('text')
  status!: ExchangeStatus;

  /** The token the server answered with, sealed (AAD: this row); destroyed when applied. */
  @Column('bytea', { name: 'registration_access_token_ciphertext', nullable: true })
  registrationAccessTokenCiphertext!: Buffer | null;

  /** The server's answer without secrets or tokens (and, for a registration, its client_id and URI). */
  @Column('jsonb', { nullable: true })
  answer!: Record<string, unknown> | null;

  /** Time the server took to answer, for the change's audit event. */
  @Column('integer', { name: 'server_ms', nullable: true })
  serverMs!: number | null;

  /** How an interrupted exchange was settled, in words a person can act on. */
  @Column('text', { nullable: true })
  resolution!: string | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'answered_at', nullable: true })
  answeredAt!: Date | null;

  @Column('timestamptz', { name: 'settled_at', nullable: true })
  settledAt!: Date | null;
}
