import { ListedClient, RegistrationChange } from '../server-connector';

/** One RFC 6902 operation (Hydra's `PATCH /admin/clients/{id}` takes a JSON Patch). */
export type PatchOperation = { op: 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

/**
 * What Keyshift may record of a Hydra OAuth2Client: named RFC 7591 fields only, never the rest. A
 * PATCH answer carries a replaced `client_secret`, and Hydra's free-form `metadata` (or a future
 * rotated-secrets field) could carry anything, so this is an allowlist, not a denylist.
 */
const RECORDED = [
  'client_id',
  'client_name',
  'token_endpoint_auth_method',
  'token_endpoint_auth_signing_alg',
  'jwks_uri',
  'jwks',
  'grant_types',
  'response_types',
  'redirect_uris',
  'scope',
  'audience',
  'created_at',
  'updated_at',
] as const;

export function hydraMetadata(client: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(RECORDED.filter((f) => client[f] !== undefined).map((f) => [f, client[f]]));
}

/**
 * The JSON Patch that applies `change` to `current`. RFC 6902 `add` sets a member whether or not it
 * exists; `remove` fails on an absent one, so only what is present is removed. Hydra's validator
 * refuses `jwks` and `jwks_uri` together, so setting one removes the other in the same patch.
 * `retire_secret` replaces the secret with `newSecret`, a value Keyshift never keeps: Hydra cannot
 * delete a secret, only replace it.
 */
export function hydraPatch(
  current: Record<string, unknown>,
  change: RegistrationChange,
  newSecret: () => string,
): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const set = (field: string, value: unknown) => ops.push({ op: 'add', path: `/${field}`, value });
  const unset = (field: string) => {
    if (current[field] !== undefined && current[field] !== null) ops.push({ op: 'remove', path: `/${field}` });
  };
  if (typeof change.jwks_uri === 'string') {
    unset('jwks');
    set('jwks_uri', change.jwks_uri);
  }
  if (change.jwks_uri === null) unset('jwks_uri');
  if (change.jwks) {
    unset('jwks_uri');
    set('jwks', change.jwks);
  }
  if (change.token_endpoint_auth_method) set('token_endpoint_auth_method', change.token_endpoint_auth_method);
  if (typeof change.token_endpoint_auth_signing_alg === 'string') {
    set('token_endpoint_auth_signing_alg', change.token_endpoint_auth_signing_alg);
  }
  if (change.token_endpoint_auth_signing_alg === null) unset('token_endpoint_auth_signing_alg');
  if (change.dpop_bound_access_tokens !== undefined) {
    throw new Error('Hydra has no DPoP-bound access tokens (the vendor check refuses a DPoP target)');
  }
  if (change.retire_secret) set('client_secret', newSecret());
  return ops;
}

const SECRET_METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt'];

/** A Hydra client as estate discovery lists it. Hydra does not date a secret apart from its client. */
export function hydraListed(client: Record<string, unknown>): ListedClient | null {
  if (typeof client.client_id !== 'string') return null;
  const method =
    typeof client.token_endpoint_auth_method === 'string' ? client.token_endpoint_auth_method : 'client_secret_basic';
  const date = (value: unknown) =>
    typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? new Date(value) : null;
  const expires =
    typeof client.client_secret_expires_at === 'number' && client.client_secret_expires_at > 0
      ? new Date(client.client_secret_expires_at * 1000)
      : null;
  const jwks = client.jwks as { keys?: unknown[] } | undefined;
  return {
    clientId: client.client_id,
    name: typeof client.client_name === 'string' && client.client_name ? client.client_name : null,
    authMethod: method,
    grantTypes: Array.isArray(client.grant_types)
      ? client.grant_types.filter((g): g is string => typeof g === 'string')
      : [],
    secrets: SECRET_METHODS.includes(method)
      ? { count: 1, issuedAt: null, expiresAt: expires }
      : { count: 0, issuedAt: null, expiresAt: null },
    createdAt: date(client.created_at),
    keys:
      typeof client.jwks_uri === 'string' && client.jwks_uri
        ? { delivery: 'jwks_uri', count: null }
        : Array.isArray(jwks?.keys)
          ? { delivery: 'jwks', count: jwks.keys.length }
          : { delivery: null, count: null },
    vendorBuiltIn: false,
  };
}
