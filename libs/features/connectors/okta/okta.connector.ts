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
import { asListedClient, asRegistrationMetadata, isOktaApp, newApp, OktaApp, OktaSecret, withChange } from './okta-app';

/** Apps per listing page (Okta allows up to 200). */
const PAGE_SIZE = 200;

/**
 * Okta's Management API (`connector.adminUrl` = the org's `https://{org}/api/v1`) with an API token
 * (SSWS) or a bearer token holding `okta.apps.read` and `okta.apps.manage`.
 *
 * - Apps are addressed by app id, which for OAuth apps is the client_id (Okta creates an app "with
 *   this id" when a client_id is given; documentation, proven only against the twin).
 * - `PUT /apps/{id}` replaces the whole app: every change reads it first and sends it all back.
 * - One method per client: Keyshift's `jwks_uri` is staged while the app still uses its secret,
 *   then the method switches. Okta then refuses an assertion without `kid` once two keys are
 *   registered; Keyshift always sends `kid`.
 * - Revocation deactivates and deletes every client secret (`credentials/secrets`), which Okta
 *   allows only once the app no longer authenticates with one.
 * - Every `/api/v1/apps/*` call, credentials included, counts against one rate-limit bucket (20 to
 *   100 a minute by plan): set `connector.adminCallsPerMinute`; 429 and `X-Rate-Limit-Reset` are
 *   waited out by AdminHttp.
 */
@Connector('okta')
@Injectable()
export class OktaConnector implements ServerConnector {
  readonly capabilities: ConnectorCapabilities = {
    automated: true,
    readable: true,
    credential: 'server_admin',
    overlappingMethods: false,
    keyDelivery: ['jwks_uri', 'jwks'],
    secretRetirement: 'delete',
    canRegister: true,
    canDelete: true,
    // settings.oauthClient.dpop_bound_access_tokens (with client_credentials: sources conflict, probed at phase 6).
    senderConstraints: { dpop: true, mtls: false },
    // The full token endpoint URL; exp at most an hour ahead.
    assertion: {
      audiences: ['token_endpoint'],
      maxLifetimeSeconds: 3600,
      algs: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'],
      typ: null,
    },
    // Okta shows a secret only when it is created.
    adminApi: { credentials: ['ssws', 'bearer'], credentialOptional: false, lists: true, revealsSecrets: false },
  };

  constructor(private readonly http: AdminHttp) {}

  async read(target: ConnectorTarget): Promise<ServerAnswer> {
    const got = await this.get(target.server, target.clientId);
    return { metadata: asRegistrationMetadata(app(got)), registrationAccessToken: null, serverMs: ms(got) };
  }

  async update(target: ConnectorTarget, change: RegistrationChange): Promise<ChangeOutcome> {
    const { retire_secret: retireSecret, ...fields } = change;
    const current = await this.get(target.server, target.clientId);
    let waited = ms(current);
    let latest = app(current);
    if (Object.keys(fields).length) {
      const put = await this.http.call(
        target.server.admin,
        'Okta app update',
        'PUT',
        this.url(target.server, target.clientId),
        withChange(latest, fields),
      );
      waited += ms(put);
      latest = app(put);
    }
    if (retireSecret) waited += await this.deleteSecrets(target.server, target.clientId);
    return {
      kind: 'applied',
      answer: { metadata: asRegistrationMetadata(latest), registrationAccessToken: null, serverMs: waited },
    };
  }

  /** An app is deactivated before Okta lets it be deleted. */
  async remove(target: ConnectorTarget): Promise<ChangeOutcome> {
    const admin = target.server.admin;
    const url = this.url(target.server, target.clientId);
    const deactivated = await this.http.call(
      admin,
      'Okta app deactivation',
      'POST',
      `${url}/lifecycle/deactivate`,
      undefined,
      { accept: [404] },
    );
    const deleted = await this.http.call(admin, 'Okta app delete', 'DELETE', url, undefined, { accept: [404] });
    return {
      kind: 'applied',
      answer: { metadata: {}, registrationAccessToken: null, serverMs: ms(deactivated) + ms(deleted) },
    };
  }

  async register(server: ConnectorServer, metadata: Record<string, unknown>): Promise<NewRegistration> {
    const created = await this.http.call(
      server.admin,
      'Okta app create',
      'POST',
      adminUrl(server.admin?.url ?? '', 'apps'),
      newApp(metadata),
    );
    const body = app(created);
    const answer = asRegistrationMetadata(body);
    return {
      metadata: answer,
      registrationAccessToken: null,
      serverMs: ms(created),
      clientId: answer.client_id as string,
      registrationClientUri: null,
      refusal: null,
    };
  }

  /** A page of OpenID Connect apps, each with its secrets list (one more call per app, same bucket). */
  async list(server: ConnectorServer, page: string | null): Promise<ListedPage> {
    const query = new URLSearchParams({
      limit: String(PAGE_SIZE),
      filter: 'name eq "oidc_client"',
      ...(page ? { after: page } : {}),
    });
    const listed = await this.http.call(
      server.admin,
      'Okta app listing',
      'GET',
      `${adminUrl(server.admin?.url ?? '', 'apps')}?${query.toString()}`,
    );
    if (!Array.isArray(listed.body)) throw new ConnectorError('Okta app listing: the answer is not a list', false);
    const apps = listed.body.filter(isOktaApp);
    let serverMs = ms(listed);
    const clients = [];
    for (const a of apps) {
      const secrets = await this.secrets(server, a.id);
      serverMs += secrets.ms;
      clients.push(asListedClient(a, secrets.list));
    }
    return { clients, next: nextPageToken(listed.headers.link, 'after'), calls: 1 + apps.length, serverMs };
  }

  /** Every client secret deactivated (if active) and deleted; Okta keeps none it could accept again. */
  private async deleteSecrets(server: ConnectorServer, clientId: string): Promise<number> {
    const admin = server.admin;
    const { list, ms: waited } = await this.secrets(server, clientId);
    let total = waited;
    for (const secret of list) {
      const url = adminUrl(admin?.url ?? '', 'apps', clientId, 'credentials', 'secrets', secret.id);
      if (secret.status === 'ACTIVE') {
        total += ms(await this.http.call(admin, 'Okta secret deactivation', 'POST', `${url}/lifecycle/deactivate`));
      }
      total += ms(await this.http.call(admin, 'Okta secret delete', 'DELETE', url, undefined, { accept: [404] }));
    }
    return total;
  }

  private async secrets(server: ConnectorServer, clientId: string): Promise<{ list: OktaSecret[]; ms: number }> {
    const answer = await this.http.call(
      server.admin,
      'Okta secret listing',
      'GET',
      adminUrl(server.admin?.url ?? '', 'apps', clientId, 'credentials', 'secrets'),
    );
    const list = Array.isArray(answer.body)
      ? answer.body.filter((s): s is OktaSecret =>
          Boolean(s && typeof s === 'object' && typeof (s as OktaSecret).id === 'string'),
        )
      : [];
    return { list, ms: ms(answer) };
  }

  private get(server: ConnectorServer, clientId: string): Promise<AdminAnswer> {
    return this.http.call(server.admin, 'Okta app read', 'GET', this.url(server, clientId));
  }

  private url(server: ConnectorServer, clientId: string): string {
    return adminUrl(server.admin?.url ?? '', 'apps', clientId);
  }
}

function app(answer: AdminAnswer): OktaApp {
  if (!isOktaApp(answer.body)) throw new ConnectorError('Okta admin API: the answer is not an app', false);
  return answer.body;
}

function ms(answer: AdminAnswer): number {
  return Math.round(answer.latencyMs);
}
