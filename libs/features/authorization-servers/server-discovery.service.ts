import { Inject, Injectable } from '@nestjs/common';
import { Clock, DomainError } from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { OutboundError, OutboundHttp } from '@keyshift/outbound';
import { Transactions } from '@keyshift/database';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { AuthorizationServerEntity, ServerCapabilities } from './authorization-server.entity';
import { AuthorizationServersRepository } from './authorization-servers.repository';
import { toServerView } from './authorization-servers.service';
import { discoveryUrls, parseDiscoveryDocument } from './discovery-document';
import { endpointScope, EndpointScope } from './endpoint-policy';

export type DiscoveryOutcome =
  | { status: 'ok'; capabilities: ServerCapabilities }
  /** Worth retrying: the server could not be reached, timed out, throttled or failed (5xx). */
  | { status: 'transient'; reason: string; retryAfterSeconds?: number }
  /** Retrying will not help until someone changes something (wrong issuer, bad document, 4xx). */
  | { status: 'invalid'; reason: string };

/**
 * Vendor check, part one: read the server's metadata (OpenID Connect Discovery, else RFC 8414),
 * check its issuer, record the capabilities, and audit the result.
 */
@Injectable()
export class ServerDiscovery {
  constructor(
    private readonly servers: AuthorizationServersRepository,
    private readonly transactions: Transactions,
    private readonly http: OutboundHttp,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
  ) {}

  async discover(serverId: string): Promise<DiscoveryOutcome> {
    const server = await this.servers.findById(serverId);
    if (!server) throw DomainError.notFound('authorization server', serverId);
    // Every endpoint the document names must be on the issuer's host or a trusted host, so nothing
    // is ever sent to an endpoint that failed the check (its discovery is recorded as failed).
    const outcome = await this.fetchMetadata(server.issuer, endpointScope(server, this.config.outbound.allowlist));
    await this.record(server, outcome);
    return outcome;
  }

  private async fetchMetadata(issuer: string, scope: EndpointScope): Promise<DiscoveryOutcome> {
    const [oidc, rfc8414] = discoveryUrls(issuer);
    for (const url of [oidc, rfc8414]) {
      let res;
      try {
        res = await this.http.send({ method: 'GET', url, headers: { accept: 'application/json' } });
      } catch (error) {
        if (!(error instanceof OutboundError)) throw error;
        return error.kind === 'timeout' || error.kind === 'network'
          ? { status: 'transient', reason: error.message }
          : { status: 'invalid', reason: error.message };
      }
      if (res.status === 404 && url === oidc) continue; // not an OpenID provider: try RFC 8414
      if (res.status === 429 || res.status >= 500) {
        const retryAfter = Number(res.headers['retry-after']);
        return {
          status: 'transient',
          reason: `${url} answered HTTP ${res.status}`,
          retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined,
        };
      }
      if (res.status !== 200) return { status: 'invalid', reason: `${url} answered HTTP ${res.status}` };
      const parsed = parseDiscoveryDocument(res.body, issuer, url, scope);
      return parsed.ok
        ? { status: 'ok', capabilities: parsed.capabilities }
        : { status: 'invalid', reason: `${url}: ${parsed.reason}` };
    }
    return {
      status: 'invalid',
      reason: 'neither /.well-known/openid-configuration nor /.well-known/oauth-authorization-server exists',
    };
  }

  private async record(server: AuthorizationServerEntity, outcome: DiscoveryOutcome): Promise<void> {
    const now = this.clock.now();
    const ok = outcome.status === 'ok';
    const changes: Partial<AuthorizationServerEntity> = {
      discoveryStatus: ok ? 'ok' : 'failed',
      discoveryError: ok ? null : outcome.reason,
      discoveryAttemptedAt: now,
      // A failed attempt keeps the last good capabilities (with their date): they were real evidence.
      ...(ok ? { capabilities: outcome.capabilities, capabilitiesCheckedAt: now } : {}),
      updatedAt: now,
    };
    await this.transactions.run(async (tx) => {
      await this.servers.updateBumpingVersion(tx, server.id, changes);
      await this.audit.append(tx, [
        {
          actor: SYSTEM_ACTORS.worker,
          action: ok ? 'authorization_server.discovered' : 'authorization_server.discovery_failed',
          subjectType: 'authorization_server',
          subjectId: server.id,
          before: { capabilities: server.capabilities, discovery: toServerView(server).discovery },
          after: ok ? { capabilities: outcome.capabilities } : { status: outcome.status, reason: outcome.reason },
        },
      ]);
    });
  }
}
