import { Inject, Injectable } from '@nestjs/common';
import {
  Clock,
  decodeCursor,
  DomainError,
  encodeCursor,
  ErrorCode,
  isUuid,
  Logger,
  LOGGER,
  newId,
  Page,
} from '@keyshift/common';
import { KEYSHIFT_CONFIG, KeyshiftConfig } from '@keyshift/config';
import { Transactions, uniqueViolation } from '@keyshift/database';
import { JobName, JobQueue } from '@keyshift/queue';
import { AuditLog } from '../audit/audit-log.service';
import { ConnectorCatalog } from '../ports/connector-catalog';
import { actorOf, Principal } from '../api-tokens/principal';
import { EnvelopeCipher } from '@keyshift/crypto';
import type { ConnectorCapabilities } from '@keyshift/domain';
import { adminAccessInput, adminUrlProblem } from './admin-access-input';
import {
  adminCredentialContext,
  AdminCredentialPublic,
  AssertionAudience,
  AuthorizationServerEntity,
  ServerCapabilities,
} from './authorization-server.entity';
import {
  CreateAuthorizationServerDto,
  ReplaceAdminAccessDto,
  UpdateAuthorizationServerDto,
} from './authorization-servers.dto';
import { AuthorizationServersRepository } from './authorization-servers.repository';
import { endpointScope, normalizeTrustedHosts, trustedHostsProblem } from './endpoint-policy';
import { issuerProblem } from './issuer-url';

/** Until an operator says otherwise, assume a cautious JWKS cache time (node-oidc-provider uses 60 s). */
const DEFAULT_JWKS_CACHE_SECONDS = 300;

export interface AuthorizationServerView {
  id: string;
  name: string;
  issuer: string;
  /** Hosts besides the issuer's on which the server's endpoints may be (endpoint-policy.ts). */
  trustedHosts: string[];
  /** The connector, its admin API and the public part of its credential (the secret is never shown). */
  connector: {
    type: string;
    adminUrl: string | null;
    credential: AdminCredentialPublic | null;
    adminCallsPerMinute: number | null;
  };
  jwksCacheSeconds: number;
  assertionAudience: AssertionAudience;
  maxAssertionSeconds: number;
  probeLimits: { ratePerSecond: number; concurrency: number };
  capabilities: (ServerCapabilities & { checkedAt: string }) | null;
  discovery: { status: 'ok' | 'failed' | null; error: string | null; attemptedAt: string | null };
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** The issuer where the profile accepts it (most servers do), else the token endpoint URL. */
function defaultAudience(capabilities: ConnectorCapabilities): AssertionAudience {
  return capabilities.assertion.audiences.includes('issuer')
    ? AssertionAudience.Issuer
    : AssertionAudience.TokenEndpoint;
}

export function toServerView(s: AuthorizationServerEntity): AuthorizationServerView {
  return {
    id: s.id,
    name: s.name,
    issuer: s.issuer,
    trustedHosts: s.trustedHosts ?? [],
    connector: {
      type: s.connectorType,
      adminUrl: s.connectorAdminUrl,
      credential: s.adminCredential,
      adminCallsPerMinute: s.adminCallsPerMinute,
    },
    jwksCacheSeconds: s.jwksCacheSeconds,
    assertionAudience: s.assertionAudience,
    maxAssertionSeconds: s.maxAssertionSeconds,
    probeLimits: { ratePerSecond: s.probeRatePerSecond, concurrency: s.probeConcurrency },
    capabilities:
      s.capabilities && s.capabilitiesCheckedAt
        ? { ...s.capabilities, checkedAt: s.capabilitiesCheckedAt.toISOString() }
        : null,
    discovery: {
      status: s.discoveryStatus,
      error: s.discoveryError,
      attemptedAt: s.discoveryAttemptedAt?.toISOString() ?? null,
    },
    version: s.version,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

@Injectable()
export class AuthorizationServersService {
  constructor(
    private readonly servers: AuthorizationServersRepository,
    private readonly transactions: Transactions,
    @Inject(KEYSHIFT_CONFIG) private readonly config: KeyshiftConfig,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly queue: JobQueue,
    private readonly connectors: ConnectorCatalog,
    private readonly cipher: EnvelopeCipher,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async create(input: CreateAuthorizationServerDto, by: Principal): Promise<AuthorizationServerView> {
    const problem = issuerProblem(input.issuer, this.config.outbound.allowlist);
    if (problem) throw DomainError.validation([problem]);
    const trustedProblem = trustedHostsProblem(input.trustedHosts ?? []);
    if (trustedProblem) throw DomainError.validation([trustedProblem]);
    const known = this.connectors.types();
    if (!known.includes(input.connector.type)) {
      // The value is not repeated back (a mistyped field can hold anything).
      throw DomainError.validation([{ field: 'connector.type', message: `must be one of: ${known.join(', ')}` }]);
    }
    const trustedHosts = normalizeTrustedHosts(input.trustedHosts ?? []);
    const admin = adminAccessInput(
      input.connector,
      this.connectors.capabilities(input.connector.type).adminApi,
      endpointScope({ issuer: input.issuer, trustedHosts }, this.config.outbound.allowlist),
    );
    if ('problems' in admin) throw DomainError.validation(admin.problems);
    const now = this.clock.now();
    const id = newId();
    const row: AuthorizationServerEntity = {
      id,
      name: input.name,
      issuer: input.issuer,
      trustedHosts,
      connectorType: input.connector.type,
      connectorAdminUrl: admin.access.adminUrl,
      adminCredential: admin.access.credential,
      adminCallsPerMinute: input.connector.adminCallsPerMinute ?? null,
      adminCredentialCiphertext:
        admin.access.secret === null ? null : this.cipher.encrypt(admin.access.secret, adminCredentialContext(id)),
      jwksCacheSeconds: input.jwksCacheSeconds ?? DEFAULT_JWKS_CACHE_SECONDS,
      // Unless the operator says, the audience the connector's assertion profile accepts (Okta and
      // Hydra take only the token URL); the vendor check still judges an explicit choice.
      assertionAudience: input.assertionAudience ?? defaultAudience(this.connectors.capabilities(input.connector.type)),
      maxAssertionSeconds: input.maxAssertionSeconds ?? 60,
      rotationPolicy: null,
      probeRatePerSecond: input.probeRatePerSecond ?? this.config.probes.defaultRatePerSecond,
      probeConcurrency: input.probeConcurrency ?? this.config.probes.defaultConcurrency,
      capabilities: null,
      capabilitiesCheckedAt: null,
      discoveryStatus: null,
      discoveryError: null,
      discoveryAttemptedAt: null,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.transactions.run(async (tx) => {
        await this.servers.insert(tx, row);
        await this.audit.append(tx, [
          {
            actor: actorOf(by),
            action: 'authorization_server.created',
            subjectType: 'authorization_server',
            subjectId: row.id,
            after: toServerView(row),
          },
        ]);
      });
    } catch (error) {
      const constraint = uniqueViolation(error);
      if (constraint === 'UQ_authorization_servers_name' || constraint === 'UQ_authorization_servers_issuer') {
        const field = constraint.endsWith('name') ? 'name' : 'issuer';
        throw new DomainError(ErrorCode.AlreadyExists, `an authorization server with this ${field} already exists`, {
          field,
        });
      }
      throw error;
    }
    // After commit: the vendor check starts as soon as the server exists. If Redis is down the
    // server is still created; the vendor-check executor asks for discovery again when it needs it.
    await this.requestDiscoveryOf(row.id).catch((error: unknown) =>
      this.logger.warn(
        { authorizationServerId: row.id, err: (error as Error).message },
        'server created but its discovery could not be queued; the vendor check will ask again',
      ),
    );
    return toServerView(row);
  }

  /**
   * Replaces the hosts the server's endpoints may be on (PATCH /v1/authorization-servers/{id}), then
   * queues a discovery so the capabilities are judged again under the new list.
   */
  async update(id: string, input: UpdateAuthorizationServerDto, by: Principal): Promise<AuthorizationServerView> {
    const problem = trustedHostsProblem(input.trustedHosts);
    if (problem) throw DomainError.validation([problem]);
    const view = await this.transactions.run(async (tx) => {
      const before = await this.servers.lockForUpdate(tx, id);
      if (!before) throw DomainError.notFound('authorization server', id);
      // The admin credential goes wherever connectorAdminUrl points: it must stay on the server's hosts.
      const scope = endpointScope(
        { issuer: before.issuer, trustedHosts: normalizeTrustedHosts(input.trustedHosts) },
        this.config.outbound.allowlist,
      );
      if (before.connectorAdminUrl && adminUrlProblem(before.connectorAdminUrl, scope)) {
        throw DomainError.validation([
          {
            field: 'trustedHosts',
            message:
              "would leave connector.adminUrl outside the server's hosts: replace the admin access first (PUT /v1/authorization-servers/{id}/admin-access)",
          },
        ]);
      }
      const after: AuthorizationServerEntity = {
        ...before,
        trustedHosts: normalizeTrustedHosts(input.trustedHosts),
        version: before.version + 1,
        updatedAt: this.clock.now(),
      };
      await this.servers.update(tx, id, {
        trustedHosts: after.trustedHosts,
        version: after.version,
        updatedAt: after.updatedAt,
      });
      await this.audit.append(tx, [
        {
          actor: actorOf(by),
          action: 'authorization_server.updated',
          subjectType: 'authorization_server',
          subjectId: id,
          before: { trustedHosts: before.trustedHosts },
          after: { trustedHosts: after.trustedHosts },
        },
      ]);
      return toServerView(after);
    });
    await this.requestDiscoveryOf(id, view.version).catch((error: unknown) =>
      this.logger.warn(
        { authorizationServerId: id, err: (error as Error).message },
        'trusted hosts updated but the new discovery could not be queued; the vendor check will ask again',
      ),
    );
    return view;
  }

  /**
   * Replaces the admin API's URL, credential and call budget (a rotated service account secret, a
   * new API token, a moved admin API). The new secret is sealed; the old one is gone with the row's
   * previous value; the version moves on, so no process keeps using an admin token made from the old.
   */
  async replaceAdminAccess(id: string, input: ReplaceAdminAccessDto, by: Principal): Promise<AuthorizationServerView> {
    return this.transactions.run(async (tx) => {
      const before = await this.servers.lockForUpdate(tx, id);
      if (!before) throw DomainError.notFound('authorization server', id);
      const admin = adminAccessInput(
        { type: before.connectorType, adminUrl: input.adminUrl, credential: input.credential },
        this.connectors.capabilities(before.connectorType).adminApi,
        endpointScope(before, this.config.outbound.allowlist),
        '',
      );
      if ('problems' in admin) throw DomainError.validation(admin.problems);
      const change: Partial<AuthorizationServerEntity> = {
        connectorAdminUrl: admin.access.adminUrl,
        adminCredential: admin.access.credential,
        adminCredentialCiphertext:
          admin.access.secret === null ? null : this.cipher.encrypt(admin.access.secret, adminCredentialContext(id)),
        adminCallsPerMinute: input.adminCallsPerMinute ?? null,
        version: before.version + 1,
        updatedAt: this.clock.now(),
      };
      await this.servers.update(tx, id, change);
      const after = { ...before, ...change } as AuthorizationServerEntity;
      await this.audit.append(tx, [
        {
          actor: actorOf(by),
          action: 'authorization_server.admin_access_replaced',
          subjectType: 'authorization_server',
          subjectId: id,
          before: toServerView(before).connector,
          after: toServerView(after).connector,
        },
      ]);
      return toServerView(after);
    });
  }

  /** Queues a discovery of the server's metadata (POST /v1/authorization-servers/{id}/discover). */
  async requestDiscovery(id: string): Promise<{ serverId: string; queued: true }> {
    await this.get(id);
    await this.requestDiscoveryOf(id);
    return { serverId: id, queued: true };
  }

  private requestDiscoveryOf(serverId: string, serverVersion?: number): Promise<void> {
    return this.queue.enqueue({
      name: JobName.DiscoverServer,
      data: { serverId, requestedAt: this.clock.now().getTime(), serverVersion },
    });
  }

  async get(id: string): Promise<AuthorizationServerView> {
    const row = await this.servers.findById(id);
    if (!row) throw DomainError.notFound('authorization server', id);
    return toServerView(row);
  }

  async list(limit = 50, cursor?: string): Promise<Page<AuthorizationServerView>> {
    const after = cursor ? decodeCursor(cursor, isUuid) : undefined;
    const rows = await this.servers.listAfter(after, limit + 1);
    const items = rows.slice(0, limit).map(toServerView);
    return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1].id) : null };
  }
}
