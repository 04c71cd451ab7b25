import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { AdminCredentialKind, RotationPolicy } from '@keyshift/domain';

/** The AAD a server's sealed admin credential is bound to (a ciphertext moved to another row does not open). */
export function adminCredentialContext(serverId: string): string {
  return `admin_credential:${serverId}`;
}

/** What Keyshift may show of a server's admin credential: never the secret part. */
export interface AdminCredentialPublic {
  kind: AdminCredentialKind;
  /** The service account's client id (`client_credentials`). */
  clientId: string | null;
  /** Scopes asked for with the admin token, space-separated (Okta's `okta.apps.manage`), or null. */
  scope: string | null;
}

/** What a server accepts as a client assertion's `aud` (the brief's per-server table). */
export enum AssertionAudience {
  Issuer = 'issuer',
  TokenEndpoint = 'token_endpoint',
}

/**
 * The connectors Keyshift ships. Not a closed set: any provider marked `@Connector('type')` adds a
 * type, so the column is checked against the application's connectors (ConnectorCatalog), not a
 * CHECK constraint.
 */
export const BUILT_IN_CONNECTOR_TYPES = ['rfc7592', 'manual'] as const;

/** What discovery found at the server (filled by the vendor check). */
export interface ServerCapabilities {
  tokenEndpoint: string;
  tokenEndpointAuthMethods: string[];
  tokenEndpointAuthSigningAlgs: string[];
  dpopSigningAlgs: string[];
  mtlsEndpointAliases: Record<string, string> | null;
  registrationEndpoint: string | null;
  discoveredFrom: string;
}

@Entity({ name: 'authorization_servers' })
@Check('CHK_authorization_servers_jwks_cache_seconds', `"jwks_cache_seconds" >= 0`)
@Check('CHK_authorization_servers_assertion_audience', `"assertion_audience" IN ('issuer', 'token_endpoint')`)
@Check(
  'CHK_authorization_servers_probe_limits',
  `"probe_rate_per_second" > 0 AND "probe_concurrency" > 0 AND "max_assertion_seconds" > 0`,
)
@Check('CHK_authorization_servers_discovery_status', `"discovery_status" IN ('ok', 'failed')`)
@Check('CHK_authorization_servers_admin_calls_per_minute', `"admin_calls_per_minute" > 0`)
@Check(
  'CHK_authorization_servers_admin_credential',
  `("admin_credential" IS NULL) = ("admin_credential_ciphertext" IS NULL) AND ("admin_credential" IS NULL OR "admin_credential"->>'kind' IN ('client_credentials', 'bearer', 'ssws'))`,
)
export class AuthorizationServerEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Index('UQ_authorization_servers_name', { unique: true })
  @Column('text')
  name!: string;

  @Index('UQ_authorization_servers_issuer', { unique: true })
  @Column('text')
  issuer!: string;

  /** Which connector speaks to the server (`@Connector('type')`). */
  @Column('text', { name: 'connector_type' })
  connectorType!: string;

  /** The vendor admin API's base URL (a Keycloak realm's `/admin/realms/{realm}`), for admin-API connectors. */
  @Column('text', { name: 'connector_admin_url', nullable: true })
  connectorAdminUrl!: string | null;

  /** The public part of the admin credential; its secret part is sealed below. */
  @Column('jsonb', { name: 'admin_credential', nullable: true })
  adminCredential!: AdminCredentialPublic | null;

  /** Admin API calls a minute Keyshift allows itself at this server (every replica together); null: no limit. */
  @Column('integer', { name: 'admin_calls_per_minute', nullable: true })
  adminCallsPerMinute!: number | null;

  /** The admin credential's secret part (client secret or bearer token), sealed with the row id as AAD. */
  @Column('bytea', { name: 'admin_credential_ciphertext', nullable: true, select: false })
  adminCredentialCiphertext!: Buffer | null;

  /** How long the server caches a client's jwks_uri: sets the key-rotation overlap. */
  @Column('integer', { name: 'jwks_cache_seconds' })
  jwksCacheSeconds!: number;

  @Column('text', { name: 'assertion_audience', default: AssertionAudience.Issuer })
  assertionAudience!: AssertionAudience;

  /** The longest client assertion the server accepts; Keyshift never signs one for more than 60 s. */
  @Column('integer', { name: 'max_assertion_seconds', default: 60 })
  maxAssertionSeconds!: number;

  /** Token requests per second Keyshift allows itself against this server. */
  @Column('integer', { name: 'probe_rate_per_second', default: 20 })
  probeRatePerSecond!: number;

  /** Token requests in flight at once against this server, per worker. */
  @Column('integer', { name: 'probe_concurrency', default: 8 })
  probeConcurrency!: number;

  /** Key rotation schedule for this server's clients (a client's own policy wins). */
  @Column('jsonb', { name: 'rotation_policy', nullable: true })
  rotationPolicy!: RotationPolicy | null;

  /**
   * Hosts (host[:port], a bare host meaning the scheme's default port) besides the issuer's on which
   * the server's metadata may name endpoints; empty: the issuer's host only (endpoint-policy.ts).
   */
  @Column('text', { name: 'trusted_hosts', array: true, default: () => "'{}'" })
  trustedHosts!: string[];

  @Column('jsonb', { nullable: true })
  capabilities!: ServerCapabilities | null;

  @Column('timestamptz', { name: 'capabilities_checked_at', nullable: true })
  capabilitiesCheckedAt!: Date | null;

  /** Outcome of the last discovery attempt: `ok`, `failed`, or null before the first. */
  @Column('text', { name: 'discovery_status', nullable: true })
  discoveryStatus!: 'ok' | 'failed' | null;

  /** Why the last discovery failed (no secrets: host and path at most). */
  @Column('text', { name: 'discovery_error', nullable: true })
  discoveryError!: string | null;

  @Column('timestamptz', { name: 'discovery_attempted_at', nullable: true })
  discoveryAttemptedAt!: Date | null;

  @Column('integer')
  version!: number;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}
