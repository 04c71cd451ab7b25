import { createHash, randomBytes } from 'node:crypto';
import type { TestAuthorizationServer } from '../test-as';
import { startTwinServer, toProvider, TwinAnswer, TwinRequest, TwinServer } from './twin-http';

/**
 * A twin of Okta's Management API for OpenID Connect apps (`/api/v1/apps`: list with `filter`,
 * `limit`, `after` and a `Link` header; create; `GET`/`PUT`/`DELETE /apps/{id}`;
 * `/lifecycle/deactivate`; `/credentials/secrets` with their lifecycle) whose apps live in a real
 * node-oidc-provider (the app id is the client_id, as Okta's OAuth apps have it).
 *
 * Okta's documented rules it keeps (okta-management-openapi-spec, ../shared/research/connectors.md §2):
 * `SSWS` API tokens; PUT replaces the whole app and refuses one missing a required part, or a
 * `client_secret` beside private_key_jwt; an app is deleted only once deactivated; the only active
 * secret of an app that still uses one cannot be deactivated, and only inactive secrets can be
 * deleted; secrets are listed without their values; every `/api/v1/apps*` call counts against one
 * per-minute bucket, answered with `X-Rate-Limit-*` headers and a 429 (E0000047) past it.
 *
 * What it cannot: a deleted secret is the twin's record (the provider keeps one for the client's life;
 * the twin refuses to drop the last secret of an app still using it, as Okta does); Okta's
 * "kid required once two keys exist" is not enforced in front of the token endpoint (Keyshift
 * always sends kid).
 */
export interface OktaTwin extends TwinServer {
  adminUrl: string;
  apiToken: string;
  adopt(registration: Record<string, string>, label?: string, secretCreated?: Date): void;
  app(id: string): Record<string, any> | undefined;
  secrets(id: string): { id: string; status: string }[];
  /** Calls the bucket counted, and how many it refused. */
  bucket: { calls: number; refused: number };
}

interface Held {
  app: Record<string, any>;
  uri: string;
  token: string;
  /** The secret method the provider registration had before any switch. */
  secretMethod: string;
  secrets: { id: string; status: 'ACTIVE' | 'INACTIVE'; secret_hash: string; created: string; lastUpdated: string }[];
}

const SECRET_METHODS = ['client_secret_basic', 'client_secret_post'];
const SERVER_ISSUED = [
  'registration_access_token',
  'registration_client_uri',
  'client_secret',
  'client_secret_expires_at',
  'client_id_issued_at',
];
const oktaError = (status: number, errorCode: string, errorSummary: string): TwinAnswer => ({
  status,
  body: { errorCode, errorSummary, errorLink: errorCode, errorId: randomBytes(8).toString('hex'), errorCauses: [] },
});

export async function startOktaTwin(
  provider: TestAuthorizationServer,
  options: { callsPerMinute?: number } = {},
): Promise<OktaTwin> {
  const apps = new Map<string, Held>();
  const apiToken = randomBytes(20).toString('hex');
  const limit = options.callsPerMinute ?? 1_000_000;
  const bucket = { calls: 0, refused: 0 };
  let window = { start: Date.now(), used: 0 };

  const rateHeaders = () => ({
    'x-rate-limit-limit': String(limit),
    'x-rate-limit-remaining': String(Math.max(0, limit - window.used)),
    'x-rate-limit-reset': String(Math.ceil((window.start + 60_000) / 1000)),
  });
  const shown = (h: Held) => {
    const app = structuredClone(h.app);
    delete app.credentials.oauthClient.client_secret;
    return app;
  };
  const newSecret = (created = new Date()) => ({
    id: `ocs${randomBytes(8).toString('hex')}`,
    status: 'ACTIVE' as const,
    secret_hash: createHash('sha256').update(randomBytes(8)).digest('base64url').slice(0, 22),
    created: created.toISOString(),
    lastUpdated: created.toISOString(),
  });

  /** What the provider must hold for the app (RFC 7591 terms). */
  const providerMetadata = (current: Record<string, unknown>, h: Held) => {
    const next = { ...current };
    for (const f of [...SERVER_ISSUED, 'jwks', 'jwks_uri', 'token_endpoint_auth_signing_alg']) delete next[f];
    const method = h.app.credentials.oauthClient.token_endpoint_auth_method as string;
    const settings = h.app.settings.oauthClient as Record<string, unknown>;
    next.token_endpoint_auth_method = SECRET_METHODS.includes(method) ? h.secretMethod : method;
    if (settings.jwks_uri) next.jwks_uri = settings.jwks_uri;
    else if (settings.jwks) next.jwks = settings.jwks;
    next.dpop_bound_access_tokens = settings.dpop_bound_access_tokens === true;
    next.client_name = h.app.label;
    return next;
  };

  const handle = async (req: TwinRequest): Promise<TwinAnswer> => {
    if (req.headers.authorization !== `SSWS ${apiToken}`) return oktaError(401, 'E0000011', 'Invalid token provided');
    const parts = req.path.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'api' || parts[1] !== 'v1' || parts[2] !== 'apps')
      return oktaError(404, 'E0000022', 'The endpoint does not support the provided HTTP method');
    if (Date.now() - window.start >= 60_000) window = { start: Date.now(), used: 0 };
    bucket.calls += 1;
    if (window.used >= limit) {
      bucket.refused += 1;
      return {
        ...oktaError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.'),
        headers: rateHeaders(),
      };
    }
    window.used += 1;
    const answer = await route(req, parts.slice(3));
    return { ...answer, headers: { ...rateHeaders(), ...(answer.headers ?? {}) } };
  };

  const route = async (req: TwinRequest, rest: string[]): Promise<TwinAnswer> => {
    if (rest.length === 0 && req.method === 'GET') {
      const ids = [...apps.keys()].sort();
      const size = Math.min(200, Number(req.query.get('limit') ?? 20));
      const after = req.query.get('after');
      const start = after ? ids.findIndex((id) => id > after) : 0;
      const page = start < 0 ? [] : ids.slice(start, start + size);
      const more = start >= 0 && start + size < ids.length;
      return {
        status: 200,
        body: page.map((id) => shown(apps.get(id)!)),
        headers: more
          ? { link: `<${server.url}/api/v1/apps?limit=${size}&after=${page[page.length - 1]}>; rel="next"` }
          : {},
      };
    }
    if (rest.length === 0 && req.method === 'POST') {
      const body = req.body as Record<string, any>;
      if (body?.name !== 'oidc_client' || !body.credentials?.oauthClient || !body.settings?.oauthClient) {
        return oktaError(400, 'E0000001', 'Api validation failed: All required properties must be specified');
      }
      const id = `0oa${randomBytes(8).toString('hex')}`;
      const h: Held = {
        app: {
          ...body,
          id,
          status: 'ACTIVE',
          created: new Date().toISOString(),
          lastUpdated: new Date().toISOString(),
        },
        uri: '',
        token: '',
        secretMethod: 'client_secret_basic',
        secrets: [],
      };
      h.app.credentials.oauthClient.client_id = id;
      const created = await toProvider('POST', `${provider.issuer}/reg`, null, {
        ...providerMetadata({ grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }, h),
        client_id: id,
      });
      if (created.status !== 201)
        return oktaError(400, 'E0000001', `Api validation failed: ${String(created.body.error_description)}`);
      h.uri = created.body.registration_client_uri as string;
      h.token = created.body.registration_access_token as string;
      apps.set(id, h);
      return { status: 200, body: shown(h) };
    }
    const h = apps.get(rest[0]);
    if (!h) return oktaError(404, 'E0000007', `Not found: Resource not found: ${rest[0]} (AppInstance)`);
    const sub = rest.slice(1).join('/');
    if (sub === '' && req.method === 'GET') return { status: 200, body: shown(h) };
    if (sub === '' && req.method === 'PUT') {
      const body = req.body as Record<string, any>;
      if (
        !body?.name ||
        !body.label ||
        !body.signOnMode ||
        !body.credentials?.oauthClient ||
        !body.settings?.oauthClient
      ) {
        return oktaError(400, 'E0000001', 'Api validation failed: All required properties must be specified');
      }
      const method = body.credentials.oauthClient.token_endpoint_auth_method;
      if (method === 'private_key_jwt' && body.credentials.oauthClient.client_secret) {
        return oktaError(
          400,
          'E0000001',
          "Api validation failed: 'client_secret' can't be used when 'token_endpoint_auth_method' is 'private_key_jwt'",
        );
      }
      if (method === 'private_key_jwt' && !body.settings.oauthClient.jwks_uri && !body.settings.oauthClient.jwks) {
        return oktaError(400, 'E0000001', 'Api validation failed: jwks or jwks_uri is required for private_key_jwt');
      }
      const before = h.app;
      h.app = {
        ...structuredClone(body),
        id: h.app.id,
        status: h.app.status,
        created: h.app.created,
        lastUpdated: new Date().toISOString(),
      };
      h.app.credentials.oauthClient.client_id = h.app.id;
      const current = await toProvider('GET', h.uri, h.token);
      const updated = await toProvider('PUT', h.uri, h.token, {
        ...providerMetadata(current.body, h),
        client_id: h.app.id,
      });
      if (updated.status !== 200) {
        h.app = before;
        return oktaError(400, 'E0000001', `Api validation failed: ${String(updated.body.error_description)}`);
      }
      if (typeof updated.body.registration_access_token === 'string') h.token = updated.body.registration_access_token;
      return { status: 200, body: shown(h) };
    }
    if (sub === 'lifecycle/deactivate' && req.method === 'POST') {
      h.app.status = 'INACTIVE';
      return { status: 200, body: {} };
    }
    if (sub === '' && req.method === 'DELETE') {
      if (h.app.status !== 'INACTIVE')
        return oktaError(403, 'E0000056', 'Delete application forbidden: the app must be deactivated first');
      await toProvider('DELETE', h.uri, h.token);
      apps.delete(h.app.id);
      return { status: 204 };
    }
    if (sub === 'credentials/secrets' && req.method === 'GET') return { status: 200, body: structuredClone(h.secrets) };
    const secretRoute = /^credentials\/secrets\/([^/]+)(\/lifecycle\/deactivate)?$/.exec(sub);
    const secret = secretRoute ? h.secrets.find((s) => s.id === secretRoute[1]) : undefined;
    if (secretRoute && !secret) return oktaError(404, 'E0000007', 'Not found: Resource not found (OAuth2ClientSecret)');
    if (secretRoute?.[2] && req.method === 'POST') {
      const usesSecret = SECRET_METHODS.includes(h.app.credentials.oauthClient.token_endpoint_auth_method);
      const active = h.secrets.filter((s) => s.status === 'ACTIVE');
      if (usesSecret && active.length === 1 && secret!.status === 'ACTIVE') {
        return oktaError(400, 'E0000001', "Api validation failed: You can't deactivate the only active client secret");
      }
      secret!.status = 'INACTIVE';
      secret!.lastUpdated = new Date().toISOString();
      return { status: 200, body: secret };
    }
    if (secretRoute && !secretRoute[2] && req.method === 'DELETE') {
      if (secret!.status === 'ACTIVE')
        return oktaError(400, 'E0000001', 'Api validation failed: You can only delete an inactive client secret');
      h.secrets = h.secrets.filter((s) => s !== secret);
      return { status: 204 };
    }
    return oktaError(405, 'E0000022', 'The endpoint does not support the provided HTTP method');
  };

  const server = await startTwinServer(handle, (path) =>
    path.replace(/^(\/api\/v1\/apps\/)[^/]+/, '$1:id').replace(/(\/credentials\/secrets\/)[^/]+/, '$1:sid'),
  );
  return {
    ...server,
    adminUrl: `${server.url}/api/v1`,
    apiToken,
    bucket,
    adopt: (reg, label = reg.client_name ?? reg.client_id, secretCreated = new Date()) => {
      const created = new Date().toISOString();
      apps.set(reg.client_id, {
        app: {
          id: reg.client_id,
          name: 'oidc_client',
          label,
          status: 'ACTIVE',
          signOnMode: 'OPENID_CONNECT',
          created,
          lastUpdated: created,
          credentials: {
            oauthClient: {
              client_id: reg.client_id,
              token_endpoint_auth_method: reg.token_endpoint_auth_method,
              autoKeyRotation: true,
            },
          },
          settings: {
            oauthClient: {
              application_type: 'service',
              grant_types: ['client_credentials'],
              response_types: ['token'],
            },
          },
        },
        uri: reg.registration_client_uri,
        token: reg.registration_access_token,
        secretMethod: reg.token_endpoint_auth_method,
        secrets: [newSecret(secretCreated)],
      });
    },
    app: (id) => (apps.has(id) ? shown(apps.get(id)!) : undefined),
    secrets: (id) => apps.get(id)?.secrets ?? [],
  };
}
