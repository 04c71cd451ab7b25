import { Injectable } from '@nestjs/common';
import { Clock } from '@keyshift/common';
import { EnvelopeCipher } from '@keyshift/crypto';
import { basicAuthorization, jsonObject, OutboundError, OutboundHttp } from '@keyshift/outbound';
import { RequestBudget } from '@keyshift/queue';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import {
  adminCredentialContext,
  AuthorizationServerEntity,
} from '../authorization-servers/authorization-server.entity';
import { AuthorizationServersRepository } from '../authorization-servers/authorization-servers.repository';
import { AdminAccess, ConnectorError } from './server-connector';

interface CachedHeader {
  /** The server row's version the header was made for: a changed credential drops it. */
  version: number;
  header: string;
  /** When to stop using it (for an admin token: shortly before it expires). */
  until: number;
}

/** Used while a static bearer token is cached, so opening it is audited a few times an hour, not per call. */
const BEARER_CACHE_MS = 5 * 60_000;
/** When an admin token answer has no `expires_in`: assume Keycloak's default admin token lifetime. */
const DEFAULT_TOKEN_SECONDS = 60;

/**
 * A vendor admin API's Authorization header per authorization server, cached in memory. For a
 * `client_credentials` credential the service account's secret is opened (audited) and exchanged at
 * the server's token endpoint through the outbound guard; the token is used until shortly before
 * it expires (Keycloak's admin tokens live 60 s, so a batch of calls shares one), and one request
 * is in flight per server however many calls wait. Nothing here is ever written down or logged.
 */
@Injectable()
export class AdminSessions {
  private readonly cache = new Map<string, CachedHeader>();
  private readonly inFlight = new Map<string, Promise<CachedHeader | null>>();
  /** Per server: no admin call before this time (a 429's Retry-After, in this process). */
  private readonly heldUntil = new Map<string, number>();

  constructor(
    private readonly servers: AuthorizationServersRepository,
    private readonly cipher: EnvelopeCipher,
    private readonly http: OutboundHttp,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly budget: RequestBudget,
  ) {}

  /** The server's admin API for its connector, or null when it has none configured. */
  access(server: AuthorizationServerEntity): AdminAccess | null {
    const url = server.connectorAdminUrl;
    if (!url) return null;
    return {
      url,
      renewable: server.adminCredential?.kind === 'client_credentials',
      authorization: async () => (await this.header(server))?.header ?? null,
      refused: () => this.cache.delete(server.id),
      spend: () => this.spend(server),
      holdOff: (ms) => this.heldUntil.set(server.id, Math.max(this.heldUntil.get(server.id) ?? 0, Date.now() + ms)),
    };
  }

  private async spend(server: AuthorizationServerEntity): Promise<void> {
    const wait = (this.heldUntil.get(server.id) ?? 0) - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (server.adminCallsPerMinute) {
      await this.budget.spend(`admin:${server.id}`, server.adminCallsPerMinute, 1, 60);
    }
  }

  private async header(server: AuthorizationServerEntity): Promise<CachedHeader | null> {
    const cached = this.cache.get(server.id);
    if (cached && cached.version === server.version && cached.until > this.clock.now().getTime()) return cached;
    // Keyed by version too: a caller that knows a changed credential never joins a fetch for the old one.
    const key = `${server.id}/${server.version}`;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const fetching = this.fresh(server).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, fetching);
    return fetching;
  }

  private async fresh(server: AuthorizationServerEntity): Promise<CachedHeader | null> {
    const credential = server.adminCredential;
    if (!credential) return null;
    const sealed = await this.servers.sealedAdminCredential(server.id);
    if (!sealed) return null;
    const secret = this.cipher.decrypt(sealed, adminCredentialContext(server.id)).toString('utf8');
    const purpose = credential.kind === 'client_credentials' ? 'admin token request' : 'admin API calls';
    // The access is on the record before the secret is used.
    await this.audit.recordSoon({
      actor: SYSTEM_ACTORS.worker,
      action: 'authorization_server.admin_credential_used',
      subjectType: 'authorization_server',
      subjectId: server.id,
      after: { kind: credential.kind, purpose },
    });
    const now = this.clock.now().getTime();
    const entry: CachedHeader =
      credential.kind !== 'client_credentials'
        ? {
            version: server.version,
            header: `${credential.kind === 'ssws' ? 'SSWS' : 'Bearer'} ${secret}`,
            until: now + BEARER_CACHE_MS,
          }
        : await this.adminToken(server, credential.clientId ?? '', secret, credential.scope, now);
    this.cache.set(server.id, entry);
    return entry;
  }

  /** RFC 6749 §4.4 at the server's own token endpoint, authenticated with client_secret_basic (§2.3.1). */
  private async adminToken(
    server: AuthorizationServerEntity,
    clientId: string,
    secret: string,
    scope: string | null,
    now: number,
  ): Promise<CachedHeader> {
    const endpoint = server.capabilities?.tokenEndpoint;
    if (!endpoint) {
      throw new ConnectorError('admin token: discovery has not found the server token endpoint yet', true);
    }
    const form = new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) });
    let res;
    try {
      res = await this.http.send({
        method: 'POST',
        url: endpoint,
        headers: {
          authorization: basicAuthorization(clientId, secret),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
      });
    } catch (error) {
      if (!(error instanceof OutboundError)) throw error;
      throw new ConnectorError(`admin token request failed: ${error.message}`, error.kind !== 'forbidden');
    }
    const body = jsonObject(res.body);
    if (res.status !== 200 || typeof body?.access_token !== 'string') {
      const oauth = typeof body?.error === 'string' ? ` (${body.error})` : '';
      throw new ConnectorError(
        res.status === 401 || res.status === 400
          ? `admin token request: the service account was refused${oauth}; check connector.credential`
          : `admin token request: HTTP ${res.status}${oauth}`,
        res.status === 429 || res.status >= 500,
        res.status,
      );
    }
    const seconds =
      typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    // Stop using it a fifth of its life early (12 s of a 60 s token), between 5 and 60 s.
    const margin = Math.min(60, Math.max(5, seconds / 5));
    return {
      version: server.version,
      header: `Bearer ${body.access_token}`,
      until: now + Math.max(0, seconds - margin) * 1000,
    };
  }
}
