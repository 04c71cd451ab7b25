import { randomBytes } from 'node:crypto';
import type { TestAuthorizationServer } from '../test-as';
import { startTwinServer, toProvider, TwinAnswer, TwinRequest, TwinServer } from './twin-http';

/**
 * A twin of Ory Hydra's admin API (`/admin/clients`, `/admin/clients/{id}`: GET, PATCH with an
 * RFC 6902 JSON Patch, DELETE, POST; list with `page_size`/`page_token` and a `Link` header) whose
 * clients live in a real node-oidc-provider (RFC 7591/7592 behind, the twin holding the tokens).
 *
 * Hydra's documented rules it keeps: the admin GET never returns `client_secret`; `jwks` and
 * `jwks_uri` together are refused; `/client_id` cannot be patched; a patched `client_secret` is
 * answered once. The admin port has no auth of its own: this one sits behind a proxy that wants
 * one bearer token, as an operator would put in front of it.
 *
 * What it cannot: the provider keeps a secret for the client's life, so a replaced secret is the
 * twin's record only (it refuses to replace a secret still in use rather than pretend); Hydra's
 * "aud must be a token URL" and "alg equal to token_endpoint_auth_signing_alg" are the provider's
 * looser checks here (Keyshift's server profile uses the token URL and sets the alg anyway).
 */
export interface HydraTwin extends TwinServer {
  adminUrl: string;
  /** The proxy's bearer token in front of the admin port. */
  adminToken: string;
  adopt(registration: Record<string, string>): void;
  /** The client as the twin holds it (RFC 7591 terms, no secret); undefined once deleted. */
  client(clientId: string): Promise<Record<string, unknown> | undefined>;
  /** How often each client's secret was replaced. */
  secretReplacements(clientId: string): number;
  /** The value the last replacement set (which the PATCH answer carried). */
  lastReplacedSecret(clientId: string): string | null;
}

interface Held {
  uri: string;
  token: string;
  replaced: number;
  lastSecret?: string;
}

const SERVER_ISSUED = [
  'registration_access_token',
  'registration_client_uri',
  'client_secret',
  'client_secret_expires_at',
  'client_id_issued_at',
];
const SECRET_METHODS = ['client_secret_basic', 'client_secret_post'];

export async function startHydraTwin(provider: TestAuthorizationServer): Promise<HydraTwin> {
  const held = new Map<string, Held>();
  const adminToken = randomBytes(16).toString('hex');
  const withoutSecrets = (m: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(m).filter(([k]) => !SERVER_ISSUED.includes(k)));
  const invalid = (description: string): TwinAnswer => ({
    status: 400,
    body: { error: 'invalid_request', error_description: description },
  });

  const read = async (clientId: string, h: Held) => {
    const got = await toProvider('GET', h.uri, h.token);
    if (got.status !== 200) throw new Error(`provider read ${got.status}`);
    if (typeof got.body.registration_access_token === 'string') h.token = got.body.registration_access_token;
    const issued = got.body.client_id_issued_at;
    return {
      ...withoutSecrets(got.body),
      client_id: clientId,
      ...(typeof issued === 'number' ? { created_at: new Date(issued * 1000).toISOString() } : {}),
    };
  };

  const handle = async (req: TwinRequest): Promise<TwinAnswer> => {
    if (req.headers.authorization !== `Bearer ${adminToken}`) return { status: 401, body: { error: 'unauthorized' } };
    const parts = req.path.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== 'admin' || parts[1] !== 'clients') return { status: 404, body: { error: 'not_found' } };

    if (parts.length === 2 && req.method === 'GET') {
      const ids = [...held.keys()].sort();
      const size = Math.min(500, Number(req.query.get('page_size') ?? 250));
      const start = req.query.get('page_token') ? ids.indexOf(req.query.get('page_token')!) : 0;
      const page = ids.slice(start, start + size);
      const next = ids[start + size];
      const body = await Promise.all(page.map((id) => read(id, held.get(id)!)));
      return {
        status: 200,
        body,
        headers: next ? { link: `</admin/clients?page_size=${size}&page_token=${next}>; rel="next"` } : {},
      };
    }
    if (parts.length === 2 && req.method === 'POST') {
      const body = req.body as Record<string, unknown>;
      if (body.jwks && body.jwks_uri) return invalid('jwks and jwks_uri cannot both be set');
      const created = await toProvider('POST', `${provider.issuer}/reg`, null, withoutSecrets(body));
      if (created.status !== 201) return invalid(String(created.body.error_description ?? created.body.error));
      const id = created.body.client_id as string;
      held.set(id, {
        uri: created.body.registration_client_uri as string,
        token: created.body.registration_access_token as string,
        replaced: 0,
      });
      const secret =
        typeof created.body.client_secret === 'string' ? { client_secret: created.body.client_secret } : {};
      return { status: 201, body: { ...withoutSecrets(created.body), ...secret } };
    }

    const id = parts[2];
    const h = id ? held.get(id) : undefined;
    if (!id || !h || parts.length !== 3) {
      return { status: 404, body: { error: 'not_found', error_description: 'Unable to locate the resource' } };
    }
    if (req.method === 'GET') return { status: 200, body: await read(id, h) };
    if (req.method === 'DELETE') {
      const deleted = await toProvider('DELETE', h.uri, h.token);
      if (deleted.status !== 204) throw new Error(`provider delete ${deleted.status}`);
      held.delete(id);
      return { status: 204 };
    }
    if (req.method === 'PATCH') {
      const current = await read(id, h);
      const next: Record<string, unknown> = { ...current };
      let secret: string | null = null;
      for (const op of req.body as { op: string; path: string; value?: unknown }[]) {
        const field = /^\/([A-Za-z_]+)$/.exec(op.path)?.[1];
        if (!field) return invalid(`unsupported patch path ${op.path}`);
        if (field === 'client_id')
          return { status: 403, body: { error: 'forbidden', error_description: 'client_id cannot be changed' } };
        if (op.op === 'remove') {
          if (!(field in next)) return invalid(`cannot remove absent ${op.path}`);
          delete next[field];
        } else if (op.op === 'add' || op.op === 'replace') {
          if (field === 'client_secret') secret = String(op.value);
          else next[field] = op.value;
        } else return invalid(`unsupported op ${op.op}`);
      }
      if (next.jwks && next.jwks_uri) return invalid('jwks and jwks_uri cannot both be set');
      if (secret !== null && SECRET_METHODS.includes(String(next.token_endpoint_auth_method))) {
        return { status: 501, body: { error: 'twin cannot replace the secret of a client that uses it' } };
      }
      const updated = await toProvider('PUT', h.uri, h.token, { ...next, client_id: id });
      if (updated.status !== 200) return invalid(String(updated.body.error_description ?? updated.body.error));
      if (typeof updated.body.registration_access_token === 'string') h.token = updated.body.registration_access_token;
      if (secret !== null) {
        h.replaced += 1;
        h.lastSecret = secret;
      }
      return {
        status: 200,
        body: { ...withoutSecrets(updated.body), ...(secret !== null ? { client_secret: secret } : {}) },
      };
    }
    return { status: 405, body: { error: 'method_not_allowed' } };
  };

  const server = await startTwinServer(handle, (path) => path.replace(/^(\/admin\/clients\/)[^/]+$/, '$1:id'));
  return {
    ...server,
    adminUrl: `${server.url}/admin`,
    adminToken,
    adopt: (reg) =>
      held.set(reg.client_id, { uri: reg.registration_client_uri, token: reg.registration_access_token, replaced: 0 }),
    client: async (clientId) => {
      const h = held.get(clientId);
      return h ? read(clientId, h) : undefined;
    },
    secretReplacements: (clientId) => held.get(clientId)?.replaced ?? 0,
    lastReplacedSecret: (clientId) => held.get(clientId)?.lastSecret ?? null,
  };
}
