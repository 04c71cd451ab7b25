import { DiscoveryService } from '@nestjs/core';
import type { ConnectorCapabilities } from '@keyshift/domain';

export type { ConnectorCapabilities };

/**
 * The port between Keyshift and an authorization server's client management. A connector only
 * speaks to its server: it reads, changes, registers and deletes there and returns what the server
 * answered. It holds no database handle and writes no audit event; the Registrar journals,
 * persists, seals and audits around every call. Its capabilities are data the vendor check and the
 * executors read, never its type name.
 *
 * A connector is a Nest provider marked `@Connector('type')`; the ConnectorRegistry finds every one
 * in the application, so a new server type is one new class in any module (a test's included).
 */
export interface ServerConnector {
  readonly capabilities: ConnectorCapabilities;
  /** The registration as the server holds it now. */
  read(target: ConnectorTarget): Promise<ServerAnswer>;
  update(target: ConnectorTarget, change: RegistrationChange): Promise<ChangeOutcome>;
  remove(target: ConnectorTarget): Promise<ChangeOutcome>;
  /** A new registration at the server (the successor strategy). */
  register(server: ConnectorServer, metadata: Record<string, unknown>): Promise<NewRegistration>;
  /** One page of every client at the server (estate discovery); where `capabilities.adminApi.lists`. */
  list?(server: ConnectorServer, page: string | null): Promise<ListedPage>;
  /** The client's current secret, as an admin may read it; where `capabilities.adminApi.revealsSecrets`. */
  readSecret?(target: ConnectorTarget): Promise<string>;
}

/** A page of a server's clients as its admin API lists them, and where the next page starts. */
export interface ListedPage {
  clients: ListedClient[];
  next: string | null;
  /** Admin calls this page took. */
  calls: number;
  serverMs: number;
}

/** What an admin API says of one client, in RFC 7591 terms, without any secret. */
export interface ListedClient {
  clientId: string;
  name: string | null;
  authMethod: string | null;
  grantTypes: string[];
  /** How many secrets the server holds for it (null: it does not say), and their dates where it reports them. */
  secrets: { count: number | null; issuedAt: Date | null; expiresAt: Date | null };
  /** The client's own creation time, where reported (its secret is no older). */
  createdAt: Date | null;
  keys: { delivery: 'jwks_uri' | 'jwks' | 'certificate' | 'pem' | null; count: number | null };
  /** The server ships and uses this client itself (never a migration candidate). */
  vendorBuiltIn: boolean;
}

/** Marks a provider as the connector for a server type (`authorization_servers.connector_type`). */
export const Connector = DiscoveryService.createDecorator<string>();

/** The server a connector speaks to, as Keyshift knows it. */
export interface ConnectorServer {
  id: string;
  issuer: string;
  tokenEndpoint: string | null;
  /** RFC 7591's registration_endpoint, when discovery found one. */
  registrationEndpoint: string | null;
  /** The vendor admin API, for a connector whose credential is `server_admin`; null otherwise. */
  admin: AdminAccess | null;
}

/**
 * A vendor admin API as a connector may use it. Keyshift holds the credential: the connector asks
 * for an Authorization header per call and never sees what it was made from.
 */
export interface AdminAccess {
  /** The admin API's base URL, as the operator configured it. */
  url: string;
  /** The Authorization header for the next admin call (a cached admin token), or null when none is configured. */
  authorization(): Promise<string | null>;
  /** A refused header can be renewed (an admin token fetched again), not a static token. */
  readonly renewable: boolean;
  /** The server refused the last header (401): forget it, so the next call gets a fresh one. */
  refused(): void;
  /** Waits for the server's admin call budget (and any Retry-After it asked for), then spends one call. */
  spend(): Promise<void>;
  /** The server asked for a pause (429 Retry-After): every caller of this server waits that long. */
  holdOff(ms: number): void;
}

/**
 * One registration at the server: the imported one, or the successor Keyshift registered. For a
 * connector whose credential is `registration_access_token`, the Registrar opens the sealed token
 * (audited) for the call and passes it with the registration's URI; it is never kept.
 */
export interface ConnectorTarget {
  server: ConnectorServer;
  clientId: string;
  registration: 'original' | 'successor';
  registrationClientUri: string | null;
  registrationAccessToken: string | null;
}

/** A change to a client's registration, in RFC 7591 metadata terms. Absent fields stay as they are. */
export interface RegistrationChange {
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  token_endpoint_auth_signing_alg?: string | null;
  /** null: remove the field (a rollback of a key registration). */
  jwks_uri?: string | null;
  jwks?: { keys: Record<string, string>[] };
  dpop_bound_access_tokens?: boolean;
  /**
   * Not RFC 7591 metadata: destroy the secret the server still stores after the method switch, its
   * connector's way (capabilities.secretRetirement: regenerate to a value nobody sees, or delete).
   */
  retire_secret?: true;
}

/**
 * What the server answered. `metadata` holds no secret and no token (what Keyshift may record);
 * a registration access token issued or rotated with the answer comes apart, for sealing.
 */
export interface ServerAnswer {
  metadata: Record<string, unknown>;
  registrationAccessToken: string | null;
  /** Time spent waiting on the server (recorded with the change: what a migration costs the server). */
  serverMs: number;
}

/** A new registration: the server's client_id and, for RFC 7592 servers, where it is managed. */
export interface NewRegistration extends ServerAnswer {
  clientId: string | null;
  registrationClientUri: string | null;
  /**
   * Why the connector will not let Keyshift use this answer (a management URI outside the endpoint
   * that registered it, say), or null. The server may hold the registration all the same, so the
   * Registrar journals the answer first and then refuses it with this reason.
   */
  refusal: string | null;
}

/** Applied at the server, or handed to an operator with exact instructions. */
export type ChangeOutcome =
  { kind: 'applied'; answer: ServerAnswer } | { kind: 'awaiting_operator'; instructions: string[] };

/** Why a connector call failed; `transient` failures are worth retrying, the others need a person. */
export class ConnectorError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly httpStatus: number | null = null,
  ) {
    super(message);
    this.name = 'ConnectorError';
  }
}
