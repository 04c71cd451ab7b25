import { randomBytes, randomUUID } from 'node:crypto';
import type { TestAuthorizationServer } from '../test-as';
import { startTwinServer, toProvider, TwinAnswer, TwinRequest, TwinServer } from './twin-http';

/**
 * A twin of Keycloak's admin REST API for one realm (the documented subset Keyshift uses:
 * `GET/POST /admin/realms/{realm}/clients`, `GET/PUT/DELETE …/clients/{id}`, `POST …/client-secret`,
 * `DELETE …/client-secret/rotated`), whose changes are applied to a real node-oidc-provider by RFC
 * 7591/7592, so token requests, assertion checks and method enforcement are the provider's own.
 *
 * Keycloak's documented behaviour it keeps: paths use the internal UUID; `?clientId=` is an exact
 * match; PUT merges `attributes` key by key and leaves absent top-level fields as they are, answering
 * 204; a client-secret client's representation carries its `secret` (to a manage-clients caller);
 * regenerating keeps the previous secret as "rotated" (the client-secret-rotation policy) until
 * `DELETE …/rotated`; admin calls need a bearer token of the realm's service account, checked by
 * introspection at the provider; errors carry `error`/`errorMessage`.
 *
 * What it cannot: the provider keeps a client's secret for its life, so a regenerated secret is
 * the twin's record only (the twin refuses to regenerate the secret of a client still using it,
 * rather than pretend); Keycloak's single-`aud` and 60 s assertion rules are not enforced in front
 * of the token endpoint (Keyshift's assertions carry one `aud` and live at most 60 s anyway).
 */
export interface KeycloakTwin extends TwinServer {
  realm: string;
  adminUrl: string;
  /** The realm's service account Keyshift is given (registered at the provider). */
  serviceAccount: { clientId: string; clientSecret: string };
  /** Distinct admin bearer tokens seen (how often Keyshift fetched one). */
  adminTokens: Set<string>;
  /**
   * Brings a client registered at the provider under the twin, as Keycloak holds every realm client;
   * `secretCreated` is what Keycloak records as the secret's creation time (default: now).
   */
  adopt(registration: Record<string, string>, name?: string, secretCreated?: Date): string;
  /** The representation as the twin holds it (secret included). */
  client(clientId: string): KcClient | undefined;
  /** The secret Keycloak kept as "rotated" for a client, if any. */
  rotatedSecret(clientId: string): string | null;
  /** Revokes every admin token seen so far at the provider (RFC 7009): the next call with one is a 401. */
  revokeAdminTokens(): Promise<void>;
}

export interface KcClient {
  id: string;
  clientId: string;
  name?: string;
  enabled: boolean;
  protocol: 'openid-connect';
  publicClient: boolean;
  serviceAccountsEnabled: boolean;
  clientAuthenticatorType: string;
  secret?: string;
  attributes: Record<string, string>;
  [field: string]: unknown;
}

interface Held {
  rep: KcClient;
  /** The provider-side registration (URI and its current token). */
  uri: string;
  token: string;
  /** The secret method the provider registration had before any switch (Keycloak accepts both). */
  secretMethod: string;
  rotated: string | null;
}

const KEY_FIELDS = ['jwks', 'jwks_uri', 'token_endpoint_auth_signing_alg', 'dpop_bound_access_tokens'];
const SERVER_ISSUED = [
  'registration_access_token',
  'registration_client_uri',
  'client_secret',
  'client_secret_expires_at',
  'client_id_issued_at',
];

export async function startKeycloakTwin(provider: TestAuthorizationServer, realm = 'acme'): Promise<KeycloakTwin> {
  const byUuid = new Map<string, Held>();
  const adminTokens = new Set<string>();
  const accepted = new Set<string>();
  const sa = await provider.register({
    token_endpoint_auth_method: 'client_secret_basic',
    client_name: 'keyshift-admin',
  });
  const serviceAccount = { clientId: sa.client_id, clientSecret: sa.client_secret };
  const base = `/admin/realms/${realm}`;

  const authorized = async (header: string | undefined): Promise<boolean> => {
    const token = /^Bearer (.+)$/.exec(header ?? '')?.[1];
    if (!token) return false;
    adminTokens.add(token);
    if (accepted.has(token)) return true;
    const res = await fetch(`${provider.issuer}/token/introspection`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${serviceAccount.clientId}:${serviceAccount.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token }).toString(),
    });
    const body = (await res.json()) as { active?: boolean; client_id?: string };
    if (body.active !== true || body.client_id !== serviceAccount.clientId) return false;
    accepted.add(token);
    return true;
  };

  const byClientId = (clientId: string) => [...byUuid.values()].find((h) => h.rep.clientId === clientId);
  const shown = (h: Held) => structuredClone(h.rep);

  /** What the provider must hold for this representation (RFC 7591 terms). */
  const providerMetadata = (current: Record<string, unknown>, h: Held): Record<string, unknown> => {
    const next = { ...current };
    for (const f of [...SERVER_ISSUED, ...KEY_FIELDS]) delete next[f];
    const a = h.rep.attributes;
    const keyed = h.rep.clientAuthenticatorType === 'client-jwt';
    next.token_endpoint_auth_method = keyed ? 'private_key_jwt' : h.secretMethod;
    if (a['use.jwks.url'] === 'true' && a['jwks.url']) next.jwks_uri = a['jwks.url'];
    else if (a['use.jwks.string'] === 'true' && a['jwks.string']) next.jwks = JSON.parse(a['jwks.string']) as unknown;
    if (keyed && a['token.endpoint.auth.signing.alg'])
      next.token_endpoint_auth_signing_alg = a['token.endpoint.auth.signing.alg'];
    next.dpop_bound_access_tokens = a['dpop.bound.access.tokens'] === 'true';
    if (h.rep.name) next.client_name = h.rep.name;
    return next;
  };

  const apply = async (h: Held): Promise<TwinAnswer | null> => {
    const current = await toProvider('GET', h.uri, h.token);
    if (current.status !== 200) return { status: 500, body: { error: `provider read ${current.status}` } };
    const updated = await toProvider('PUT', h.uri, h.token, providerMetadata(current.body, h));
    if (updated.status !== 200) {
      return {
        status: 400,
        body: {
          error: 'invalid_client_metadata',
          errorMessage: String(updated.body.error_description ?? updated.body.error),
        },
      };
    }
    if (typeof updated.body.registration_access_token === 'string') h.token = updated.body.registration_access_token;
    return null;
  };

  const handle = async (req: TwinRequest): Promise<TwinAnswer> => {
    if (!req.path.startsWith(`${base}/`)) return { status: 404, body: { error: 'Realm not found.' } };
    if (!(await authorized(req.headers.authorization)))
      return { status: 401, body: { error: 'HTTP 401 Unauthorized' } };
    const rest = req.path.slice(base.length).split('/').filter(Boolean).map(decodeURIComponent);
    if (rest[0] !== 'clients') return { status: 404, body: { error: 'HTTP 404 Not Found' } };

    if (rest.length === 1 && req.method === 'GET') {
      const wanted = req.query.get('clientId');
      const all = [...byUuid.values()].filter((h) => wanted === null || h.rep.clientId === wanted);
      const first = Number(req.query.get('first') ?? 0);
      const max = Number(req.query.get('max') ?? 100);
      return { status: 200, body: all.slice(first, first + max).map(shown) };
    }
    if (rest.length === 1 && req.method === 'POST') {
      const rep = req.body as Partial<KcClient>;
      if (typeof rep.clientId !== 'string') return { status: 400, body: { errorMessage: 'clientId is required' } };
      if (byClientId(rep.clientId))
        return { status: 409, body: { errorMessage: `Client ${rep.clientId} already exists` } };
      const held: Held = {
        rep: {
          enabled: true,
          protocol: 'openid-connect',
          publicClient: false,
          serviceAccountsEnabled: true,
          clientAuthenticatorType: 'client-secret',
          ...rep,
          clientId: rep.clientId,
          id: randomUUID(),
          attributes: { ...(rep.attributes ?? {}) },
        } as KcClient,
        uri: '',
        token: '',
        secretMethod: 'client_secret_basic',
        rotated: null,
      };
      const created = await toProvider('POST', `${provider.issuer}/reg`, null, {
        ...providerMetadata({ grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }, held),
        client_id: rep.clientId,
      });
      if (created.status !== 201)
        return { status: 400, body: { errorMessage: String(created.body.error_description ?? created.body.error) } };
      held.uri = created.body.registration_client_uri as string;
      held.token = created.body.registration_access_token as string;
      if (typeof created.body.client_secret === 'string') held.rep.secret = created.body.client_secret;
      byUuid.set(held.rep.id, held);
      return { status: 201, headers: { location: `${base}/clients/${held.rep.id}` } };
    }

    const h = byUuid.get(rest[1] ?? '');
    if (!h) return { status: 404, body: { error: 'Could not find client' } };
    if (rest.length === 2 && req.method === 'GET') return { status: 200, body: shown(h) };
    if (rest.length === 2 && req.method === 'PUT') {
      const rep = req.body as Partial<KcClient>;
      if (rep.id !== undefined && rep.id !== h.rep.id)
        return { status: 400, body: { errorMessage: 'id does not match' } };
      const before = structuredClone(h.rep);
      // Keycloak's updateClient: absent (or null) top-level fields stay; attributes merge key by key.
      for (const [field, value] of Object.entries(rep)) {
        if (field === 'attributes' || value === null || value === undefined) continue;
        h.rep[field] = value;
      }
      Object.assign(h.rep.attributes, rep.attributes ?? {});
      const failed = await apply(h);
      if (failed) h.rep = before;
      return failed ?? { status: 204 };
    }
    if (rest.length === 2 && req.method === 'DELETE') {
      const deleted = await toProvider('DELETE', h.uri, h.token);
      if (deleted.status !== 204) return { status: 500, body: { error: `provider delete ${deleted.status}` } };
      byUuid.delete(h.rep.id);
      return { status: 204 };
    }
    if (rest[2] === 'client-secret' && rest.length === 3 && req.method === 'GET') {
      if (!h.rep.secret) return { status: 404, body: { error: 'Client has no secret' } };
      return { status: 200, body: { type: 'secret', value: h.rep.secret } };
    }
    if (rest[2] === 'client-secret' && rest.length === 3 && req.method === 'POST') {
      if (h.rep.clientAuthenticatorType !== 'client-jwt') {
        // The provider behind cannot change a secret in use: refuse rather than pretend.
        return { status: 501, body: { error: 'twin cannot regenerate the secret of a client that uses it' } };
      }
      h.rotated = h.rep.secret ?? null;
      h.rep.secret = randomBytes(24).toString('base64url');
      h.rep.attributes['client.secret.creation.time'] = String(Math.floor(Date.now() / 1000));
      return { status: 200, body: { type: 'secret', value: h.rep.secret } };
    }
    if (rest[2] === 'client-secret' && rest[3] === 'rotated' && req.method === 'DELETE') {
      if (!h.rotated) return { status: 404, body: { error: 'No rotated secret' } };
      h.rotated = null;
      return { status: 204 };
    }
    return { status: 405, body: { error: 'HTTP 405 Method Not Allowed' } };
  };

  const server = await startTwinServer(handle, (path) =>
    path.replace(/\/clients\/[0-9a-f-]{36}/, '/clients/:id').replace(`/realms/${realm}/`, '/realms/:realm/'),
  );
  return {
    ...server,
    realm,
    adminUrl: `${server.url}${base}`,
    serviceAccount,
    adminTokens,
    adopt: (registration, name, secretCreated = new Date()) => {
      const id = randomUUID();
      byUuid.set(id, {
        rep: {
          id,
          clientId: registration.client_id,
          ...(name ? { name } : {}),
          enabled: true,
          protocol: 'openid-connect',
          publicClient: false,
          serviceAccountsEnabled: true,
          clientAuthenticatorType: 'client-secret',
          secret: registration.client_secret,
          attributes: { 'client.secret.creation.time': String(Math.floor(secretCreated.getTime() / 1000)) },
        },
        uri: registration.registration_client_uri,
        token: registration.registration_access_token,
        secretMethod: registration.token_endpoint_auth_method ?? 'client_secret_basic',
        rotated: null,
      });
      return id;
    },
    client: (clientId) => byClientId(clientId)?.rep,
    rotatedSecret: (clientId) => byClientId(clientId)?.rotated ?? null,
    revokeAdminTokens: async () => {
      for (const token of adminTokens) {
        await fetch(`${provider.issuer}/token/revocation`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${serviceAccount.clientId}:${serviceAccount.clientSecret}`).toString('base64')}`,
          },
          body: new URLSearchParams({ token }).toString(),
        });
      }
      accepted.clear();
    },
  };
}
