import type { RegistrationState } from '../clients/client.entity';

/**
 * How Keyshift changes a client's registration at its authorization server. Each connector says
 * what it can do as capabilities, so phase executors branch on capabilities, never on vendors.
 */
export interface ConnectorCapabilities {
  /** Changes are carried out by Keyshift itself; false: an operator makes them and confirms. */
  automated: boolean;
  /** Keyshift can read the registration as the server holds it (evidence comes from there). */
  readable: boolean;
  /** One client_id can hold a secret and a key at the same time (else a method switch is atomic). */
  overlappingMethods: boolean;
  /** How the client's public keys can reach the server. */
  keyDelivery: readonly ('jwks_uri' | 'jwks')[];
  /** New registrations (RFC 7591), for the successor strategy. */
  canRegister: boolean;
  canDelete: boolean;
  /** The server can require DPoP-bound tokens for a client (dpop_bound_access_tokens). */
  canRequireDpop: boolean;
}

/** A change to a client's registration, in RFC 7591 metadata terms. Absent fields stay as they are. */
export interface RegistrationChange {
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  token_endpoint_auth_signing_alg?: string | null;
  /** null: remove the field (a rollback of a key registration). */
  jwks_uri?: string | null;
  jwks?: { keys: Record<string, string>[] };
  dpop_bound_access_tokens?: boolean;
}

/** What a connector did: applied at the server, or handed to an operator with exact instructions. */
export type ConnectorResult =
  { kind: 'applied'; metadata: Record<string, unknown> } | { kind: 'awaiting_operator'; instructions: string[] };

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

/**
 * The registration a connector acts on: Keyshift's row id, the server's client_id, and which of the
 * row's registrations it is (the imported one, or the successor Keyshift registered).
 */
export interface ConnectorClient {
  clientRowId: string;
  clientId: string;
  registration?: 'original' | 'successor';
}

/**
 * What Keyshift records once a change is confirmed at the server, in the transaction of the
 * change's audit event. Data, not a callback: it is journalled with the request, so a change whose
 * answer outlived its worker is recorded the same way on recovery.
 */
export interface AfterChange {
  registrationState: RegistrationState;
}

/** A new registration (RFC 7591): its client_id and metadata; its access token is already sealed and stored. */
export interface Registered {
  clientId: string;
  metadata: Record<string, unknown>;
}

export interface ServerConnector {
  readonly capabilities: ConnectorCapabilities;
  /** The registration as the server holds it now (secrets and tokens left out). */
  read(client: ConnectorClient): Promise<Record<string, unknown>>;
  update(client: ConnectorClient, change: RegistrationChange, after?: AfterChange): Promise<ConnectorResult>;
  /** Deletes the registration; a successor's is forgotten by Keyshift with it. */
  remove(client: ConnectorClient, after?: AfterChange): Promise<ConnectorResult>;
  /**
   * Registers the successor of `client` at `registrationEndpoint` (RFC 7591) and stores its
   * client_id, registration_client_uri and sealed access token on the client's row.
   */
  registerSuccessor(
    client: ConnectorClient,
    registrationEndpoint: string,
    metadata: Record<string, unknown>,
    after?: AfterChange,
  ): Promise<Registered>;
  /**
   * Settles the client's interrupted exchanges (a worker died between a request and the commit that
   * recorded its answer): adopts journalled tokens, or names what a person must do. Called before
   * anything else touches the client's registrations. Returns whether anything was settled (the
   * caller then re-reads the client's registration state).
   */
  recover(clientRowId: string): Promise<boolean>;
}
