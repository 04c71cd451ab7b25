/**
 * What a connector says its server can do, as data. The vendor check and the phase executors read
 * these, never a connector's type name, so a new server type is a new connector and nothing else.
 */
export interface ConnectorCapabilities {
  /** Keyshift carries changes out itself; false: an operator makes them and confirms each. */
  automated: boolean;
  /** Keyshift can read the registration as the server holds it (key evidence comes from there). */
  readable: boolean;
  /** How the connector authenticates to the server for one client (decides what Keyshift holds). */
  credential: ConnectorCredential;
  /** One client_id can hold a secret and a key at once (else a method switch is atomic). */
  overlappingMethods: boolean;
  /** How the client's public keys can reach the server, in the connector's order of preference. */
  keyDelivery: readonly KeyDelivery[];
  /** How the shared secret stops working at phase 5. */
  secretRetirement: SecretRetirement;
  /** New registrations (the successor strategy) and deletes. */
  canRegister: boolean;
  canDelete: boolean;
  /** Which sender constraints the server can be told to require for a client. */
  senderConstraints: { dpop: boolean; mtls: boolean };
  assertion: AssertionProfile;
  /** What the server's admin API needs from the operator; null: the connector uses no admin API. */
  adminApi: AdminApiNeeds | null;
}

/**
 * How Keyshift authenticates to a vendor's admin API:
 * - `client_credentials`: a service account's client id and secret, exchanged at the server's token
 *   endpoint for a short-lived admin token (Keycloak, Auth0, Okta's service apps);
 * - `bearer`: a static token sent as `Authorization: Bearer` (whatever guards a Hydra admin port);
 * - `ssws`: an Okta API token, sent as `Authorization: SSWS {token}`.
 */
export type AdminCredentialKind = 'client_credentials' | 'bearer' | 'ssws';

export interface AdminApiNeeds {
  /** The credential kinds the connector can use, in its order of preference. */
  credentials: readonly AdminCredentialKind[];
  /** Whether the admin API answers without a credential (a Hydra admin port behind a network boundary). */
  credentialOptional: boolean;
  /** It can list every client at the server (estate discovery). */
  lists: boolean;
  /** An admin may read a client's current secret there (Keycloak), so an import needs no one to supply it. */
  revealsSecrets: boolean;
}

/**
 * - `registration_access_token`: RFC 7592, a token per registration that the server may rotate on
 *   any answer, so every exchange is journalled and the token sealed on the client row;
 * - `server_admin`: the connector holds the server's admin credential (a vendor admin API);
 * - `none`: nothing is sent to the server (an operator makes the change).
 */
export type ConnectorCredential = 'registration_access_token' | 'server_admin' | 'none';

/** `jwks_uri`: Keyshift's hosted JWKS, so rotations need no server call; `jwks`: the key set inline. */
export type KeyDelivery = 'jwks_uri' | 'jwks' | 'certificate' | 'pem';

/**
 * - `method_switch`: switching the auth method to the key retires the secret (RFC 7591 servers);
 * - `delete`: the secret is deleted at the server;
 * - `regenerate`: the server can only replace it, with a value Keyshift throws away unseen;
 * - `remove_credential`: one credential among several is removed (a credential list).
 */
export type SecretRetirement = 'method_switch' | 'delete' | 'regenerate' | 'remove_credential';

/**
 * Whether secret revocation (phase 5) must change the server after the method switch: the secret
 * is still stored there, dormant, until it is regenerated or deleted. The switch alone retires it
 * only where RFC 7591 metadata is the whole record.
 */
export function retiresSecretAtServer(retirement: SecretRetirement): boolean {
  return retirement === 'regenerate' || retirement === 'delete';
}

/** The client assertions (RFC 7523) the server accepts. */
export interface AssertionProfile {
  /** The `aud` values it accepts. */
  audiences: readonly ('issuer' | 'token_endpoint')[];
  /** The longest lifetime (exp − iat) it accepts, in seconds; null: no documented limit. */
  maxLifetimeSeconds: number | null;
  /** The algorithms it verifies; null: what discovery advertises. */
  algs: readonly string[] | null;
  /**
   * The `typ` header it requires, if any. (No `kid` capability: Keyshift always names the key, which
   * every documented server accepts, so such a flag could change nothing.)
   */
  typ: string | null;
}

/** The `typ` Keyshift writes in a client assertion (probes/client-assertion.ts). */
export const CLIENT_ASSERTION_TYP = 'JWT';

/** A client assertion never lives more than a minute, whatever the server tolerates (the conformance suite's rule). */
export const MAX_ASSERTION_SECONDS = 60;

/** How long Keyshift's assertions for a server live: its accepted maximum, capped at a minute. */
export function assertionLifetimeSeconds(serverMaxSeconds: number): number {
  return Math.min(MAX_ASSERTION_SECONDS, serverMaxSeconds);
}
