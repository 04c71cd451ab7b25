import { ListedClient, RegistrationChange } from '../server-connector';

/**
 * Keycloak's ClientRepresentation (admin REST API) and its translation to and from RFC 7591 terms,
 * the language the rest of Keyshift speaks. Attribute names as Keycloak's OIDCConfigAttributes
 * defines them (../shared/research/connectors.md §1).
 */
export interface KeycloakClient {
  /** The internal UUID: every admin path uses it, never the clientId. */
  id: string;
  clientId: string;
  name?: string;
  enabled?: boolean;
  protocol?: string;
  publicClient?: boolean;
  serviceAccountsEnabled?: boolean;
  clientAuthenticatorType?: string;
  /** Returned to callers with manage-clients; Keyshift never keeps it. */
  secret?: string;
  attributes?: Record<string, string>;
  [field: string]: unknown;
}

export const KC = {
  useJwksUrl: 'use.jwks.url',
  jwksUrl: 'jwks.url',
  useJwksString: 'use.jwks.string',
  jwksString: 'jwks.string',
  signingAlg: 'token.endpoint.auth.signing.alg',
  dpopBound: 'dpop.bound.access.tokens',
} as const;

const AUTHENTICATOR_TO_METHOD: Record<string, string> = {
  'client-jwt': 'private_key_jwt',
  // Keycloak's client-secret authenticator accepts the secret by Basic and in the form alike.
  'client-secret': 'client_secret_basic',
  'client-secret-jwt': 'client_secret_jwt',
  'client-x509': 'tls_client_auth',
};

/** A Keycloak client in RFC 7591 metadata terms, without its secret: what Keyshift may record. */
export function asRegistrationMetadata(client: KeycloakClient): Record<string, unknown> {
  const a = client.attributes ?? {};
  const metadata: Record<string, unknown> = { client_id: client.clientId };
  if (client.name) metadata.client_name = client.name;
  const method = AUTHENTICATOR_TO_METHOD[client.clientAuthenticatorType ?? 'client-secret'];
  if (method) metadata.token_endpoint_auth_method = method;
  if (client.serviceAccountsEnabled) metadata.grant_types = ['client_credentials'];
  if (a[KC.useJwksUrl] === 'true' && a[KC.jwksUrl]) metadata.jwks_uri = a[KC.jwksUrl];
  if (a[KC.useJwksString] === 'true' && a[KC.jwksString]) {
    try {
      metadata.jwks = JSON.parse(a[KC.jwksString]) as unknown;
    } catch {
      // A stored key set that does not parse is no key set: the published-key check says so.
    }
  }
  if (a[KC.signingAlg]) metadata.token_endpoint_auth_signing_alg = a[KC.signingAlg];
  metadata.dpop_bound_access_tokens = a[KC.dpopBound] === 'true';
  return metadata;
}

/**
 * The client after `change`, ready for `PUT /clients/{id}`. Keycloak merges attributes key by key,
 * so a removed field is set to its off value rather than left out; the secret is never sent back
 * (a field left out stays as it is).
 */
export function withChange(client: KeycloakClient, change: RegistrationChange): KeycloakClient {
  const next: KeycloakClient = { ...client, attributes: { ...(client.attributes ?? {}) } };
  delete next.secret;
  const a = next.attributes!;
  if (typeof change.jwks_uri === 'string') {
    Object.assign(a, { [KC.useJwksUrl]: 'true', [KC.jwksUrl]: change.jwks_uri, [KC.useJwksString]: 'false' });
  }
  if (change.jwks_uri === null) Object.assign(a, { [KC.useJwksUrl]: 'false', [KC.jwksUrl]: '' });
  if (change.jwks) {
    Object.assign(a, {
      [KC.useJwksString]: 'true',
      [KC.jwksString]: JSON.stringify(change.jwks),
      [KC.useJwksUrl]: 'false',
    });
  }
  if (change.token_endpoint_auth_method) {
    next.clientAuthenticatorType =
      change.token_endpoint_auth_method === 'private_key_jwt' ? 'client-jwt' : 'client-secret';
  }
  if (change.token_endpoint_auth_signing_alg !== undefined)
    a[KC.signingAlg] = change.token_endpoint_auth_signing_alg ?? '';
  if (change.dpop_bound_access_tokens !== undefined) a[KC.dpopBound] = String(change.dpop_bound_access_tokens);
  return next;
}

/** A new confidential client for the successor strategy, from the RFC 7591 metadata Keyshift would register. */
export function newClient(clientId: string, metadata: Record<string, unknown>): Omit<KeycloakClient, 'id'> {
  const base: KeycloakClient = {
    id: '',
    clientId,
    protocol: 'openid-connect',
    publicClient: false,
    enabled: true,
    serviceAccountsEnabled: true,
    standardFlowEnabled: false,
    directAccessGrantsEnabled: false,
    ...(typeof metadata.client_name === 'string' ? { name: metadata.client_name } : {}),
    clientAuthenticatorType: 'client-secret',
    attributes: {},
  };
  const change: RegistrationChange = {
    token_endpoint_auth_method: 'private_key_jwt',
    ...(typeof metadata.jwks_uri === 'string' ? { jwks_uri: metadata.jwks_uri } : {}),
    ...(typeof metadata.token_endpoint_auth_signing_alg === 'string'
      ? { token_endpoint_auth_signing_alg: metadata.token_endpoint_auth_signing_alg }
      : {}),
    dpop_bound_access_tokens: metadata.dpop_bound_access_tokens === true,
  };
  const { id: _unassigned, ...created } = withChange(base, change);
  return created;
}

/** Whether an admin API answer is a client representation Keyshift can read. */
export function isKeycloakClient(value: unknown): value is KeycloakClient {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === 'string' && typeof v.clientId === 'string';
}

/** The clients every Keycloak realm is created with, for its own consoles and brokering. */
const BUILT_IN = new Set([
  'account',
  'account-console',
  'admin-cli',
  'broker',
  'realm-management',
  'security-admin-console',
]);

/** Keycloak's own bookkeeping of a client secret (epoch seconds in attributes). */
const SECRET_CREATED = 'client.secret.creation.time';
const SECRET_EXPIRES = 'client.secret.expiration.time';

/** A realm client as estate discovery lists it: method, secret dates, keys; never the secret itself. */
export function asListedClient(client: KeycloakClient): ListedClient {
  const a = client.attributes ?? {};
  const epoch = (field: string) => (Number(a[field]) > 0 ? new Date(Number(a[field]) * 1000) : null);
  const method = client.publicClient
    ? 'none'
    : (AUTHENTICATOR_TO_METHOD[client.clientAuthenticatorType ?? 'client-secret'] ?? null);
  const holdsSecret = !client.publicClient && (client.clientAuthenticatorType ?? 'client-secret') === 'client-secret';
  let keys: ListedClient['keys'] = { delivery: null, count: null };
  if (a[KC.useJwksUrl] === 'true' && a[KC.jwksUrl]) keys = { delivery: 'jwks_uri', count: null };
  else if (a[KC.useJwksString] === 'true' && a[KC.jwksString]) {
    const parsed = asRegistrationMetadata(client).jwks as { keys?: unknown[] } | undefined;
    keys = { delivery: 'jwks', count: Array.isArray(parsed?.keys) ? parsed.keys.length : null };
  } else if (a['jwt.credential.certificate']) keys = { delivery: 'certificate', count: 1 };
  return {
    clientId: client.clientId,
    name: client.name ?? null,
    authMethod: method,
    grantTypes: client.serviceAccountsEnabled ? ['client_credentials'] : [],
    secrets: holdsSecret
      ? { count: 1, issuedAt: epoch(SECRET_CREATED), expiresAt: epoch(SECRET_EXPIRES) }
      : { count: 0, issuedAt: null, expiresAt: null },
    // Keycloak does not record when a client was created.
    createdAt: null,
    keys,
    vendorBuiltIn: BUILT_IN.has(client.clientId),
  };
}
