import { Injectable } from '@nestjs/common';
import { Clock, DomainError, ErrorCode, newId } from '@keyshift/common';
import { generateApiToken, hashApiToken } from '@keyshift/crypto';
import { Transactions, uniqueViolation } from '@keyshift/database';
import { AuditLog } from '../audit/audit-log.service';
import { ApiTokenEntity, Role } from './api-token.entity';
import { ApiTokensRepository } from './api-tokens.repository';
import { actorOf, Principal, SYSTEM_ACTORS } from './principal';

export interface ApiTokenView {
  id: string;
  name: string;
  role: Role;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
}

const BOOTSTRAP_NAME = 'bootstrap-admin';

function toView(t: ApiTokenEntity): ApiTokenView {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    createdBy: t.createdBy,
    createdAt: t.createdAt.toISOString(),
    revokedAt: t.revokedAt?.toISOString() ?? null,
  };
}

@Injectable()
export class ApiTokensService {
  constructor(
    private readonly tokens: ApiTokensRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  /** Resolves a presented bearer token, or null when it is unknown or revoked. */
  async authenticate(token: string): Promise<Principal | null> {
    const row = await this.tokens.findLiveByHash(hashApiToken(token));
    return row ? { tokenId: row.id, name: row.name, role: row.role } : null;
  }

  /**
   * Makes KEYSHIFT_ADMIN_TOKEN a working admin token. Stored hashed like any other; changing the
   * variable and restarting rotates it (the old value stops working).
   */
  async bootstrapAdmin(token: string, attempt = 1): Promise<void> {
    const tokenHash = hashApiToken(token);
    try {
      await this.bootstrapOnce(tokenHash);
    } catch (error) {
      // Two replicas booting at once may both insert it: the loser re-reads and finds it done.
      if (uniqueViolation(error) && attempt === 1) return this.bootstrapAdmin(token, 2);
      throw error;
    }
  }

  private async bootstrapOnce(tokenHash: string): Promise<void> {
    await this.transactions.run(async (manager) => {
      const existing = await this.tokens.lockByName(manager, BOOTSTRAP_NAME);
      if (existing?.tokenHash === tokenHash && existing.revokedAt === null) return;
      const now = this.clock.now();
      const row: ApiTokenEntity = existing
        ? { ...existing, tokenHash, revokedAt: null }
        : {
            id: newId(),
            name: BOOTSTRAP_NAME,
            role: Role.Admin,
            tokenHash,
            createdBy: SYSTEM_ACTORS.bootstrap,
            createdAt: now,
            revokedAt: null,
          };
      await this.tokens.save(manager, row);
      await this.audit.append(manager, [
        {
          actor: SYSTEM_ACTORS.bootstrap,
          action: existing ? 'api_token.rotated' : 'api_token.created',
          subjectType: 'api_token',
          subjectId: row.id,
          after: { name: row.name, role: row.role },
        },
      ]);
    });
  }

  /** Creates a token; the plaintext is in the result once and nowhere else, ever. */
  async create(name: string, role: Role, by: Principal): Promise<ApiTokenView & { token: string }> {
    const token = generateApiToken();
    const row: ApiTokenEntity = {
      id: newId(),
      name,
      role,
      tokenHash: hashApiToken(token),
      createdBy: actorOf(by),
      createdAt: this.clock.now(),
      revokedAt: null,
    };
    try {
      await this.transactions.run(async (manager) => {
        await this.tokens.insert(manager, row);
        await this.audit.append(manager, [
          {
            actor: actorOf(by),
            action: 'api_token.created',
            subjectType: 'api_token',
            subjectId: row.id,
            after: { name, role },
          },
        ]);
      });
    } catch (error) {
      if (uniqueViolation(error) === 'UQ_api_tokens_name') {
        throw new DomainError(ErrorCode.AlreadyExists, `an API token named ${name} already exists`, { field: 'name' });
      }
      throw error;
    }
    return { ...toView(row), token };
  }

  async list(): Promise<ApiTokenView[]> {
    const rows = await this.tokens.listAll();
    return rows.map(toView);
  }

  async revoke(id: string, by: Principal): Promise<ApiTokenView> {
    return this.transactions.run(async (manager) => {
      const row = await this.tokens.lockById(manager, id);
      if (!row) throw DomainError.notFound('API token', id);
      if (row.revokedAt) return toView(row);
      row.revokedAt = this.clock.now();
      await this.tokens.save(manager, row);
      await this.audit.append(manager, [
        {
          actor: actorOf(by),
          action: 'api_token.revoked',
          subjectType: 'api_token',
          subjectId: id,
          before: { name: row.name, role: row.role, revoked: false },
          after: { name: row.name, role: row.role, revoked: true },
        },
      ]);
      return toView(row);
    });
  }
}
