import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';

export type InventoryStatus = 'queued' | 'running' | 'done' | 'failed';

/** One listing of every client at a server through its admin API (estate discovery). */
@Entity({ name: 'inventory_runs' })
@Check('CHK_inventory_runs_status', `"status" IN ('queued', 'running', 'done', 'failed')`)
@Index('IDX_inventory_runs_server', ['serverId', 'createdAt'])
export class InventoryRunEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('uuid', { name: 'server_id' })
  serverId!: string;

  @ManyToOne(() => AuthorizationServerEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'server_id', foreignKeyConstraintName: 'FK_inventory_runs_server' })
  server?: AuthorizationServerEntity;

  @Column('text')
  status!: InventoryStatus;

  /** The admin API's cursor for the next page: a run resumes here after a killed worker. */
  @Column('text', { name: 'next_page', nullable: true })
  nextPage!: string | null;

  @Column('integer')
  pages!: number;

  @Column('integer', { name: 'clients_found' })
  clientsFound!: number;

  /** Admin API calls made (what the run cost the server's budget). */
  @Column('integer', { name: 'admin_calls' })
  adminCalls!: number;

  @Column('integer', { name: 'server_ms' })
  serverMs!: number;

  @Column('integer')
  attempts!: number;

  /** How often the run was queued (a lost job is queued again under a new id: `inventory.run/{id}/{generation}`). */
  @Column('integer')
  generation!: number;

  /** Last sign of life: queued, claimed, or a page stored. The inventory tick re-queues a run silent too long. */
  @Column('timestamptz', { name: 'progress_at' })
  progressAt!: Date;

  /** Why it failed, in words a person can act on (no secrets). */
  @Column('text', { nullable: true })
  error!: string | null;

  @Column('text', { name: 'requested_by' })
  requestedBy!: string;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'finished_at', nullable: true })
  finishedAt!: Date | null;
}

/** A client as the server's admin API listed it in one run (no secret: counts and dates only). */
@Entity({ name: 'inventory_clients' })
export class InventoryClientEntity {
  @PrimaryColumn('uuid', { name: 'run_id' })
  runId!: string;

  @ManyToOne(() => InventoryRunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id', foreignKeyConstraintName: 'FK_inventory_clients_run' })
  run?: InventoryRunEntity;

  @PrimaryColumn('text', { name: 'client_id' })
  clientId!: string;

  @Column('text', { nullable: true })
  name!: string | null;

  /** RFC 7591 terms (`client_secret_basic`, `private_key_jwt`, …); null when the server says nothing known. */
  @Column('text', { name: 'auth_method', nullable: true })
  authMethod!: string | null;

  /** Secrets the server holds for it; null: the server does not say. */
  @Column('integer', { name: 'secret_count', nullable: true })
  secretCount!: number | null;

  /** When its (oldest) secret was issued, where the server reports it. */
  @Column('timestamptz', { name: 'secret_issued_at', nullable: true })
  secretIssuedAt!: Date | null;

  @Column('timestamptz', { name: 'secret_expires_at', nullable: true })
  secretExpiresAt!: Date | null;

  /** When the client was created (the secret is no older), where the server reports it. */
  @Column('timestamptz', { name: 'client_created_at', nullable: true })
  clientCreatedAt!: Date | null;

  /** How its keys reach the server, if it has any: `jwks_uri`, `jwks`, `certificate`, `pem`. */
  @Column('text', { name: 'key_delivery', nullable: true })
  keyDelivery!: string | null;

  @Column('integer', { name: 'key_count', nullable: true })
  keyCount!: number | null;

  @Column('text', { name: 'grant_types', array: true })
  grantTypes!: string[];

  /** A client the server ships for itself (Keycloak's admin-cli, realm-management…): never imported. */
  @Column('boolean', { name: 'vendor_built_in' })
  vendorBuiltIn!: boolean;
}
