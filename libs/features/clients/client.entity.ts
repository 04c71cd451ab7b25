import { sqlInList } from '@keyshift/common';
import { Phase, PhaseState } from '@keyshift/domain';
import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { CampaignEntity } from '../campaigns/campaign.entity';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import type { RotationPolicy } from '@keyshift/domain';

export enum SourceAuthMethod {
  ClientSecretBasic = 'client_secret_basic',
  ClientSecretPost = 'client_secret_post',
}

export enum TargetAuthMethod {
  PrivateKeyJwt = 'private_key_jwt',
}

export enum SenderConstraint {
  Dpop = 'dpop',
  None = 'none',
}

export enum MigrationStrategy {
  InPlace = 'in_place',
  Successor = 'successor',
}

/** Who switches the workload at cutover: an operator confirms it, or Keyshift switches the method itself. */
export enum CutoverMode {
  Confirm = 'confirm',
  Automatic = 'automatic',
}

/**
 * What Keyshift has made true at the authorization server for this client, recorded in the same
 * transaction as the audit event of the change. Executors compare it with what the phase needs.
 */
export interface RegistrationState {
  /** The method the server holds for the (original) client; absent: the imported one. */
  authMethod?: string;
  /** Where the server reads the client's public keys, once registered there. */
  keys?: { delivery: 'jwks_uri' | 'jwks'; jwksUri?: string; kids: string[] };
  /** The server requires DPoP-bound tokens of the key-holding client. */
  dpopBound?: boolean;
  /** In place: the secret the server kept after the switch was regenerated or deleted there. */
  secretRetired?: boolean;
  /** Successor strategy: the original registration was deleted (RFC 7592 DELETE). */
  originalDeleted?: boolean;
  /** Successor strategy: the successor registration requires DPoP-bound tokens. */
  successorDpopBound?: boolean;
}

/** A change a manual connector handed to an operator, until they confirm it was made. */
export interface PendingServerChange {
  description: string;
  instructions: string[];
  requestedAt: string;
  confirmedAt?: string;
  confirmedBy?: string;
}

export enum SecretStatus {
  Present = 'present',
  Shredded = 'shredded',
}

@Entity({ name: 'clients' })
@Index('UQ_clients_server_client_id', ['authorizationServerId', 'clientId'], { unique: true })
@Index('IDX_clients_owner_phase', ['owner', 'phase', 'id'])
@Index('IDX_clients_phase_state', ['phase', 'state', 'id'])
@Index('IDX_clients_server', ['authorizationServerId', 'id'])
@Index('UQ_clients_jwks_id', ['jwksId'], { unique: true, where: `"jwks_id" IS NOT NULL` })
@Index('IDX_clients_due', ['nextCheckAt'], { where: `"next_check_at" IS NOT NULL AND "paused" = false` })
@Index('IDX_clients_lease', ['leaseUntil'], { where: `"state" = 'running'` })
// GIN has no decorator in TypeORM: the migration creates it and schema sync leaves it alone.
@Index('IDX_clients_tags', { synchronize: false })
@Check('CHK_clients_phase', `"phase" IN (${sqlInList(Phase)})`)
@Check('CHK_clients_state', `"state" IN (${sqlInList(PhaseState)})`)
@Check('CHK_clients_auth_method', `"auth_method" IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt')`)
@Check('CHK_clients_secret_status', `"secret_status" IN ('present', 'shredded')`)
@Check('CHK_clients_secret_shredded', `"secret_status" = 'present' OR "secret_ciphertext" IS NULL`)
@Check('CHK_clients_target_cutover', `"target_cutover" IN ('confirm', 'automatic')`)
@Check('CHK_clients_server_revert_to', `"server_revert_to" IS NULL OR "server_revert_to" IN (${sqlInList(Phase)})`)
@Index('IDX_clients_campaign', ['campaignId', 'campaignWave'], { where: `"campaign_id" IS NOT NULL` })
@Index('IDX_clients_server_revert', ['id'], { where: `"server_revert_to" IS NOT NULL` })
export class ClientEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'authorization_server_id' })
  authorizationServerId!: string;

  @ManyToOne(() => AuthorizationServerEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'authorization_server_id', foreignKeyConstraintName: 'FK_clients_authorization_server' })
  authorizationServer?: AuthorizationServerEntity;

  /** The client_id at the authorization server. */
  @Column('text', { name: 'client_id' })
  clientId!: string;

  @Column('text', { name: 'auth_method' })
  authMethod!: string;

  /** Envelope-encrypted shared secret; null once shredded. Never leaves the persistence layer. */
  @Column('bytea', { name: 'secret_ciphertext', nullable: true })
  secretCiphertext!: Buffer | null;

  /** Keyed HMAC of the secret (see EnvelopeCipher.fingerprint): change detection without decrypting. */
  @Column('text', { name: 'secret_fingerprint', nullable: true })
  secretFingerprint!: string | null;

  @Column('text', { name: 'secret_status' })
  secretStatus!: SecretStatus;

  /** When the secret was issued, where the import said (a vault's creation date); else unknown. */
  @Column('timestamptz', { name: 'secret_issued_at', nullable: true })
  secretIssuedAt!: Date | null;

  /** When the old secret was shown refused at the server and Keyshift's copy shredded. */
  @Column('timestamptz', { name: 'secret_revoked_at', nullable: true })
  secretRevokedAt!: Date | null;

  /** The probe (a token request with the old secret, refused) that justified the revocation. */
  @Column('uuid', { name: 'secret_revocation_probe_id', nullable: true })
  secretRevocationProbeId!: string | null;

  @Column('bytea', { name: 'registration_access_token_ciphertext', nullable: true })
  registrationAccessTokenCiphertext!: Buffer | null;

  @Column('text', { name: 'registration_access_token_fingerprint', nullable: true })
  registrationAccessTokenFingerprint!: string | null;

  @Column('text', { name: 'registration_client_uri', nullable: true })
  registrationClientUri!: string | null;

  @Column('text', { name: 'target_auth_method' })
  targetAuthMethod!: TargetAuthMethod;

  @Column('text', { name: 'target_sender_constraint' })
  targetSenderConstraint!: SenderConstraint;

  @Column('text', { name: 'target_strategy' })
  targetStrategy!: MigrationStrategy;

  @Column('text', { name: 'target_cutover', default: CutoverMode.Confirm })
  targetCutover!: CutoverMode;

  @Column('text', { nullable: true })
  owner!: string | null;

  @Column('text', { array: true, default: () => "'{}'" })
  tags!: string[];

  @Column('text')
  phase!: Phase;

  @Column('text')
  state!: PhaseState;

  @Column('boolean', { default: false })
  paused!: boolean;

  /** Why the client is waiting, blocked or failed, in words an operator can act on. */
  @Column('text', { name: 'state_reason', nullable: true })
  stateReason!: string | null;

  /** When the reconciler should next look at the client; null means only a person moves it. */
  @Column('timestamptz', { name: 'next_check_at', nullable: true })
  nextCheckAt!: Date | null;

  /** Identifies the worker lease while state = running; write-backs must present it. */
  @Column('uuid', { name: 'lease_id', nullable: true })
  leaseId!: string | null;

  @Column('timestamptz', { name: 'lease_until', nullable: true })
  leaseUntil!: Date | null;

  @Column('integer', { default: 0 })
  attempts!: number;

  /** Opaque and unguessable: names the client's public JWKS (/jwks/{jwksId}.json). Set with its first key. */
  @Column('text', { name: 'jwks_id', nullable: true })
  jwksId!: string | null;

  /** This client's key rotation schedule; null: its server's, else the default. */
  @Column('jsonb', { name: 'rotation_policy', nullable: true })
  rotationPolicy!: RotationPolicy | null;

  @Column('timestamptz', { name: 'cutover_confirmed_at', nullable: true })
  cutoverConfirmedAt!: Date | null;

  /** When the client entered its current phase (a soak window opens here). */
  @Column('timestamptz', { name: 'phase_entered_at', default: () => 'now()' })
  phaseEnteredAt!: Date;

  @Column('jsonb', { name: 'registration_state', default: () => "'{}'" })
  registrationState!: RegistrationState;

  /** Successor strategy: the new client registered with private_key_jwt (RFC 7591). */
  @Column('text', { name: 'successor_client_id', nullable: true })
  successorClientId!: string | null;

  @Column('text', { name: 'successor_registration_client_uri', nullable: true })
  successorRegistrationClientUri!: string | null;

  @Column('bytea', { name: 'successor_registration_access_token_ciphertext', nullable: true })
  successorRegistrationAccessTokenCiphertext!: Buffer | null;

  /** A manual server change waiting for an operator's confirmation. */
  @Column('jsonb', { name: 'pending_server_change', nullable: true })
  pendingServerChange!: PendingServerChange | null;

  /**
   * Set with a rollback or a failed cutover: the server must be put back to what this phase needs.
   * A worker does it after the commit; the sweep re-queues it until done.
   */
  @Column('text', { name: 'server_revert_to', nullable: true })
  serverRevertTo!: Phase | null;

  @Column('uuid', { name: 'campaign_id', nullable: true })
  campaignId!: string | null;

  @ManyToOne(() => CampaignEntity, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'campaign_id', foreignKeyConstraintName: 'FK_clients_campaign' })
  campaign?: CampaignEntity;

  /** The campaign wave the client belongs to; 0 is the canary. */
  @Column('integer', { name: 'campaign_wave', nullable: true })
  campaignWave!: number | null;

  /** Optimistic concurrency: every write is `WHERE version = $seen` and bumps it. */
  @Column('integer')
  version!: number;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}
