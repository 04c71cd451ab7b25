import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AdminAnswer, AdminHttp, adminUrl, nextPageToken } from '../admin-http';
import {
  ChangeOutcome,
  Connector,
  ConnectorCapabilities,
  ConnectorError,
  ConnectorServer,
  ConnectorTarget,
  ListedPage,
  NewRegistration,
  RegistrationChange,
  ServerAnswer,
  ServerConnector,
} from '../server-connector';
import { hydraListed, hydraMetadata, hydraPatch } from './hydra-client';

/** Clients per listing page (Hydra's `page_size`; it allows up to 500). */
const PAGE_SIZE = 250;

/**
 * Ory Hydra's admin API (`connector.adminUrl` = the admin port's base, `…/admin` included):
 * `GET/PATCH/DELETE /clients/{id}` and `POST /clients`. Self-hosted Hydra's admin port has no
 * authentication of its own, so a credential is optional: whatever bearer token the operator's
 * proxy in front of it wants.
 *
 * - One method per client (fosite rejects an assertion unless the method is private_key_jwt), so the
 *   switch is atomic; the key is staged as `jwks_uri` beforehand.
 * - Hydra cannot delete a secret: revocation replaces it with a random value nobody keeps (a
 *   JSON Patch of `/client_secret`, which also clears rotated secrets), and the probe proves the old one dead.
 * - No DPoP or mTLS switches; assertions need `aud` = the token URL and `alg` equal to the client's
 *   `token_endpoint_auth_signing_alg`, which Keyshift sets at the switch.
 */
@Connector('hydra')
@Injectable()
export class HydraConnector implements ServerConnector {
  readonly capabilities: ConnectorCapabilities = {
    automated: true,
    readable: true,
    credential: 'server_admin',
    overlappingMethods: false,
    keyDelivery: ['jwks_uri', 'jwks'],
    secretRetirement: 'regenerate',
    canRegister: true,
    canDelete: true,
    senderConstraints: { dpop: false, mtls: false },
    // fosite: aud must match a configured token URL; no lifetime cap; JWKS cached 1 h.
    assertion: { audiences: ['token_endpoint'], maxLifetimeSeconds: null, algs: null, typ: null },
    // Hydra never returns a secret after creation.
    adminApi: { credentials: ['bearer'], credentialOptional: true, lists: true, revealsSecrets: false },
  };

  constructor(private readonly http: AdminHttp) {}

  async read(target: ConnectorTarget): Promise<ServerAnswer> {
    const got = await this.get(target);
    return { metadata: hydraMetadata(object(got)), registrationAccessToken: null, serverMs: ms(got) };
  }

  async update(target: ConnectorTarget, change: RegistrationChange): Promise<ChangeOutcome> {
    const current = await this.get(target);
    const ops = hydraPatch(object(current), change, () => randomBytes(32).toString('base64url'));
    const patched = await this.http.call(target.server.admin, 'Hydra client patch', 'PATCH', this.url(target), ops);
    return {
      kind: 'applied',
      answer: {
        // Hydra's PATCH answers with the client, the replaced secret included: never kept.
        metadata: hydraMetadata(object(patched)),
        registrationAccessToken: null,
        serverMs: ms(current) + ms(patched),
      },
    };
  }

  async remove(target: ConnectorTarget): Promise<ChangeOutcome> {
    const deleted = await this.http.call(
      target.server.admin,
      'Hydra client delete',
      'DELETE',
      this.url(target),
      undefined,
      {
        // Already gone is what a delete wants.
        accept: [404],
      },
    );
    return { kind: 'applied', answer: { metadata: {}, registrationAccessToken: null, serverMs: ms(deleted) } };
  }

  async register(server: ConnectorServer, metadata: Record<string, unknown>): Promise<NewRegistration> {
    // The metadata is the original's (grant and response types included) with the key method: RFC 7591 terms, as Hydra takes them.
    const created = await this.http.call(
      server.admin,
      'Hydra client create',
      'POST',
      adminUrl(server.admin?.url ?? '', 'clients'),
      metadata,
    );
    const body = object(created);
    return {
      // The answer carries a generated secret for a secret method; a private_key_jwt client has none.
      metadata: hydraMetadata(body),
      registrationAccessToken: null,
      serverMs: ms(created),
      clientId: typeof body.client_id === 'string' ? body.client_id : null,
      registrationClientUri: null,
      refusal: null,
    };
  }

  /** A page of every client (`page_size` 250, `page_token` from the `Link` header). */
  async list(server: ConnectorServer, page: string | null): Promise<ListedPage> {
    const base = adminUrl(server.admin?.url ?? '', 'clients');
    const query = new URLSearchParams({ page_size: String(PAGE_SIZE), ...(page ? { page_token: page } : {}) });
    const answer = await this.http.call(server.admin, 'Hydra client listing', 'GET', `${base}?${query.toString()}`);
    if (!Array.isArray(answer.body)) throw new ConnectorError('Hydra client listing: the answer is not a list', false);
    return {
      clients: answer.body
        .flatMap((c) => (c && typeof c === 'object' ? [hydraListed(c as Record<string, unknown>)] : []))
        .filter((c) => c !== null),
      next: nextPageToken(answer.headers.link),
      calls: 1,
      serverMs: ms(answer),
    };
  }

  private get(target: ConnectorTarget): Promise<AdminAnswer> {
    return this.http.call(target.server.admin, 'Hydra client read', 'GET', this.url(target));
  }

  private url(target: ConnectorTarget): string {
    return adminUrl(target.server.admin?.url ?? '', 'clients', target.clientId);
  }
}

function object(answer: AdminAnswer): Record<string, unknown> {
  const body = answer.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new ConnectorError('Hydra admin API: the answer is not a client', false);
  }
  return body as Record<string, unknown>;
}

function ms(answer: AdminAnswer): number {
  return Math.round(answer.latencyMs);
}
