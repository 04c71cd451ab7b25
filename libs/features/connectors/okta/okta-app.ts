import { ListedClient, RegistrationChange } from '../server-connector';

/**
 * Okta's OpenID Connect application (Management API `/api/v1/apps/{appId}`, `name: oidc_client`) and
 * its translation to and from RFC 7591 terms. Field names as in Okta's management OpenAPI spec
 * (okta/okta-management-openapi-spec, ../shared/research/connectors.md §2).
 */
export interface OktaApp {
  id: string;
  name?: string;
  label?: string;
  status?: string;
  signOnMode?: string;
  created?: string;
  lastUpdated?: string;
  credentials?: { oauthClient?: Record<string, unknown> & { client_id?: string; token_endpoint_auth_method?: string } };
  settings?: { oauthClient?: Record<string, unknown> };
  [field: string]: unknown;
}

/** One client secret as `GET …/credentials/secrets` lists it (the value itself is never listed). */
export interface OktaSecret {
  id: string;
  status: 'ACTIVE' | 'INACTIVE';
  created?: string;
}

export function isOktaApp(value: unknown): value is OktaApp {
  return Boolean(
    value && typeof value === 'object' && !Array.isArray(value) && typeof (value as OktaApp).id === 'string',
  );
}

/** The app in RFC 7591 terms, without any secret. */
export function asRegistrationMetadata(app: OktaApp): Record<string, unknown> {
  const client = app.credentials?.oauthClient ?? {};
  const settings = app.settings?.oauthClient ?? {};
  const metadata: Record<string, unknown> = {
    client_id: client.client_id ?? app.id,
    token_endpoint_auth_method: client.token_endpoint_auth_method ?? 'client_secret_basic',
    dpop_bound_access_tokens: settings.dpop_bound_access_tokens === true,
  };
  if (app.label) metadata.client_name = app.label;
  if (Array.isArray(settings.grant_types)) metadata.grant_types = settings.grant_types;
  if (typeof settings.jwks_uri === 'string' && settings.jwks_uri) metadata.jwks_uri = settings.jwks_uri;
  if (settings.jwks && typeof settings.jwks === 'object') metadata.jwks = settings.jwks;
  return metadata;
}

/**
 * The whole app with `change` applied, for `PUT /api/v1/apps/{appId}` (a full replacement: Okta has
 * no PATCH). `client_secret` never goes back: Okta refuses it beside private_key_jwt. The signing
 * alg is not an app setting at Okta (it verifies with the registered key's own `alg`).
 */
export function withChange(app: OktaApp, change: RegistrationChange): OktaApp {
  const next: OktaApp = structuredClone(app);
  const client = (next.credentials ??= {}).oauthClient ?? {};
  const settings = (next.settings ??= {}).oauthClient ?? {};
  next.credentials.oauthClient = client;
  next.settings.oauthClient = settings;
  delete client.client_secret;
  if (typeof change.jwks_uri === 'string') {
    settings.jwks_uri = change.jwks_uri;
    delete settings.jwks;
  }
  if (change.jwks_uri === null) delete settings.jwks_uri;
  if (change.jwks) {
    settings.jwks = change.jwks;
    delete settings.jwks_uri;
  }
  if (change.token_endpoint_auth_method) client.token_endpoint_auth_method = change.token_endpoint_auth_method;
  if (change.dpop_bound_access_tokens !== undefined)
    settings.dpop_bound_access_tokens = change.dpop_bound_access_tokens;
  return next;
}

/** A new API Services app for the successor strategy, holding the key from the start. */
export function newApp(metadata: Record<string, unknown>): Omit<OktaApp, 'id'> {
  return {
    name: 'oidc_client',
    label: typeof metadata.client_name === 'string' ? metadata.client_name : 'Keyshift successor',
    signOnMode: 'OPENID_CONNECT',
    credentials: { oauthClient: { token_endpoint_auth_method: 'private_key_jwt', autoKeyRotation: true } },
    settings: {
      oauthClient: {
        application_type: 'service',
        grant_types: ['client_credentials'],
        response_types: ['token'],
        ...(typeof metadata.jwks_uri === 'string' ? { jwks_uri: metadata.jwks_uri } : {}),
        dpop_bound_access_tokens: metadata.dpop_bound_access_tokens === true,
      },
    },
  };
}

/** An app as estate discovery lists it, with what its secrets list says (count and oldest). */
export function asListedClient(app: OktaApp, secrets: OktaSecret[] | null): ListedClient {
  const metadata = asRegistrationMetadata(app);
  const dates = (secrets ?? []).flatMap((s) =>
    s.created && !Number.isNaN(Date.parse(s.created)) ? [Date.parse(s.created)] : [],
  );
  const jwks = metadata.jwks as { keys?: unknown[] } | undefined;
  return {
    clientId: metadata.client_id as string,
    name: app.label ?? null,
    authMethod: metadata.token_endpoint_auth_method as string,
    grantTypes: (metadata.grant_types as string[] | undefined) ?? [],
    secrets: {
      count: secrets ? secrets.filter((s) => s.status === 'ACTIVE').length : null,
      issuedAt: dates.length ? new Date(Math.min(...dates)) : null,
      // Okta client secrets do not expire.
      expiresAt: null,
    },
    createdAt: app.created && !Number.isNaN(Date.parse(app.created)) ? new Date(app.created) : null,
    keys: metadata.jwks_uri
      ? { delivery: 'jwks_uri', count: null }
      : Array.isArray(jwks?.keys)
        ? { delivery: 'jwks', count: jwks.keys.length }
        : { delivery: null, count: null },
    // Okta's own apps (its consoles, the dashboard) are not oidc_client apps, which the listing filters on.
    vendorBuiltIn: false,
  };
}
