import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AdminAnswer, AdminHttp, adminUrl } from '../admin-http';
import {
  AdminAccess,
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
import {
  asListedClient,
  asRegistrationMetadata,
  isKeycloakClient,
  KeycloakClient,
  newClient,
  withChange,
} from './keycloak-representation';

/** Clients per listing page (Keycloak's `max`). */
const PAGE_SIZE = 100;

/**
 * Keycloak's admin REST API for one realm (`connector.adminUrl` = `{base}/admin/realms/{realm}`),
 * with a service account of that realm holding realm-management's view-clients and manage-clients.
 *
 * - Keys: the client reads Keyshift's hosted JWKS (`use.jwks.url`/`jwks.url`); the authenticator
 *   switches to `client-jwt` at cutover. Keycloak checks an assertion only for a client-jwt client,
 *   so secret and key never overlap on one client.
 * - The secret stays stored after the switch. Keycloak has no delete: revocation regenerates it
 *   (the new value is never read into Keyshift) and deletes any rotated one it kept, and the phase's
 *   probe then proves the old one refused (a 26.7 bug kept rotated secrets valid, keycloak#50855).
 * - Admin paths use the internal UUID, found per call by `?clientId=` (exact match).
 */
@Connector('keycloak')
@Injectable()
export class KeycloakConnector implements ServerConnector {
  readonly capabilities: ConnectorCapabilities = {
    automated: true,
    readable: true,
    credential: 'server_admin',
    overlappingMethods: false,
    keyDelivery: ['jwks_uri', 'jwks'],
    secretRetirement: 'regenerate',
    canRegister: true,
    canDelete: true,
    // `dpop.bound.access.tokens` (26.4+). tls_client_auth exists (client-x509) but Keyshift has no mTLS yet.
    senderConstraints: { dpop: true, mtls: false },
    // One aud only (issuer or token URL); lifetime token.endpoint.auth.signing.max.exp, 60 s by default.
    assertion: { audiences: ['issuer', 'token_endpoint'], maxLifetimeSeconds: 60, algs: null, typ: null },
    // GET …/client-secret answers the current secret to a manage-clients caller.
    adminApi: {
      credentials: ['client_credentials', 'bearer'],
      credentialOptional: false,
      lists: true,
      revealsSecrets: true,
    },
  };

  constructor(private readonly http: AdminHttp) {}

  async read(target: ConnectorTarget): Promise<ServerAnswer> {
    const { client, answer } = await this.find(target);
    return { metadata: asRegistrationMetadata(client), registrationAccessToken: null, serverMs: ms(answer) };
  }

  async update(target: ConnectorTarget, change: RegistrationChange): Promise<ChangeOutcome> {
    const admin = target.server.admin;
    const found = await this.find(target);
    let waited = ms(found.answer);
    const { retire_secret: retireSecret, ...fields } = change;
    const path = (...rest: string[]) => adminUrl(admin!.url, 'clients', found.client.id, ...rest);
    if (Object.keys(fields).length) {
      waited += ms(
        await this.http.call(admin, 'Keycloak client update', 'PUT', path(), withChange(found.client, fields)),
      );
    }
    if (retireSecret) waited += await this.regenerateSecret(admin, path);
    const after = await this.http.call(admin, 'Keycloak client read', 'GET', path());
    return {
      kind: 'applied',
      answer: {
        metadata: asRegistrationMetadata(client(after)),
        registrationAccessToken: null,
        serverMs: waited + ms(after),
      },
    };
  }

  async remove(target: ConnectorTarget): Promise<ChangeOutcome> {
    const admin = target.server.admin;
    const found = await this.find(target, { absentIsFine: true });
    if (!found.client.id) {
      return { kind: 'applied', answer: { metadata: {}, registrationAccessToken: null, serverMs: ms(found.answer) } };
    }
    const deleted = await this.http.call(
      admin,
      'Keycloak client delete',
      'DELETE',
      adminUrl(admin!.url, 'clients', found.client.id),
      undefined,
      { accept: [404] },
    );
    return {
      kind: 'applied',
      answer: { metadata: {}, registrationAccessToken: null, serverMs: ms(found.answer) + ms(deleted) },
    };
  }

  /**
   * A new confidential client with a service account, holding the key from the start. Keycloak
   * wants the clientId chosen by the caller: `keyshift-<uuid>`, its name saying whose successor it is.
   */
  async register(server: ConnectorServer, metadata: Record<string, unknown>): Promise<NewRegistration> {
    const admin = server.admin;
    const clientId = `keyshift-${randomUUID()}`;
    const created = await this.http.call(
      admin,
      'Keycloak client create',
      'POST',
      adminUrl(admin!.url, 'clients'),
      newClient(clientId, metadata),
    );
    const read = await this.find({ server, clientId });
    return {
      metadata: asRegistrationMetadata(read.client),
      registrationAccessToken: null,
      serverMs: ms(created) + ms(read.answer),
      clientId,
      registrationClientUri: null,
      refusal: null,
    };
  }

  /** A page of the realm's clients (`first`/`max`, 100 at a time). */
  async list(server: ConnectorServer, page: string | null): Promise<ListedPage> {
    const admin = server.admin;
    const first = page ? Number(page) : 0;
    const url = `${adminUrl(admin?.url ?? '', 'clients')}?first=${first}&max=${PAGE_SIZE}`;
    const answer = await this.http.call(admin, 'Keycloak client listing', 'GET', url);
    if (!Array.isArray(answer.body))
      throw new ConnectorError('Keycloak client listing: the answer is not a list', false);
    const clients = answer.body.filter(isKeycloakClient);
    return {
      clients: clients.map(asListedClient),
      next: answer.body.length === PAGE_SIZE ? String(first + PAGE_SIZE) : null,
      calls: 1,
      serverMs: ms(answer),
    };
  }

  /** `GET …/client-secret`, which needs manage-clients: the current secret, for Keyshift to seal. */
  async readSecret(target: ConnectorTarget): Promise<string> {
    const found = await this.find(target);
    const answer = await this.http.call(
      target.server.admin,
      'Keycloak secret read',
      'GET',
      adminUrl(target.server.admin!.url, 'clients', found.client.id, 'client-secret'),
    );
    const value = (answer.body as { value?: unknown } | null)?.value;
    if (typeof value !== 'string' || !value) {
      throw new ConnectorError(`Keycloak secret read: client ${target.clientId} has no secret`, false);
    }
    return value;
  }

  /** `POST client-secret` (Keycloak answers with the new value, which is dropped unread), then `DELETE client-secret/rotated`. */
  private async regenerateSecret(admin: AdminAccess | null, path: (...rest: string[]) => string): Promise<number> {
    const regenerated = await this.http.call(admin, 'Keycloak secret regeneration', 'POST', path('client-secret'));
    const rotated = await this.http.call(
      admin,
      'Keycloak rotated secret removal',
      'DELETE',
      path('client-secret', 'rotated'),
      undefined,
      // 404: no rotated secret was kept (the client-secret-rotation policy is off).
      { accept: [404] },
    );
    return ms(regenerated) + ms(rotated);
  }

  private async find(
    target: Pick<ConnectorTarget, 'server' | 'clientId'>,
    options: { absentIsFine?: boolean } = {},
  ): Promise<{ client: KeycloakClient; answer: AdminAnswer }> {
    const admin = target.server.admin;
    const url = `${adminUrl(admin?.url ?? '', 'clients')}?clientId=${encodeURIComponent(target.clientId)}`;
    const answer = await this.http.call(admin, 'Keycloak client lookup', 'GET', url);
    const list = Array.isArray(answer.body) ? answer.body.filter(isKeycloakClient) : [];
    const match = list.find((c) => c.clientId === target.clientId);
    if (match) return { client: match, answer };
    if (options.absentIsFine) return { client: { id: '', clientId: target.clientId }, answer };
    throw new ConnectorError(`Keycloak client lookup: client ${target.clientId} not found in the realm`, false, 404);
  }
}

function client(answer: AdminAnswer): KeycloakClient {
  if (!isKeycloakClient(answer.body))
    throw new ConnectorError('Keycloak client read: the answer is not a client representation', false);
  return answer.body;
}

function ms(answer: AdminAnswer): number {
  return Math.round(answer.latencyMs);
}
