import { Injectable } from '@nestjs/common';
import { Clock, decodeCursor, DomainError, encodeCursor, ErrorCode, newId } from '@keyshift/common';
import { Transactions } from '@keyshift/database';
import { JobName, JobQueue } from '@keyshift/queue';
import { actorOf, Principal } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { AuthorizationServersRepository } from '../authorization-servers/authorization-servers.repository';
import { ConnectorError } from '../connectors/server-connector';
import { ServerInventory } from '../connectors/server-inventory';
import { ClientImports } from '../ports/client-imports';
import { ImportInventoryDto } from './inventory.dto';
import { InventoryRunEntity } from './inventory.entity';
import { InventoriedClient, InventoryRepository, InventorySummary } from './inventory.repository';

export interface InventoryRunView {
  id: string;
  serverId: string;
  status: InventoryRunEntity['status'];
  pages: number;
  clientsFound: number;
  adminCalls: number;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

const SECRET_METHODS = ['client_secret_basic', 'client_secret_post'];
/** Secrets read from the server at once during an import (the admin API's own limits still apply). */
const READ_CONCURRENCY = 8;

function runView(r: InventoryRunEntity): InventoryRunView {
  return {
    id: r.id,
    serverId: r.serverId,
    status: r.status,
    pages: r.pages,
    clientsFound: r.clientsFound,
    adminCalls: r.adminCalls,
    error: r.error,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}

function clientView(c: InventoriedClient) {
  return {
    clientId: c.clientId,
    name: c.name,
    authMethod: c.authMethod,
    grantTypes: c.grantTypes,
    secrets: {
      count: c.secretCount,
      issuedAt: c.secretIssuedAt?.toISOString() ?? null,
      expiresAt: c.secretExpiresAt?.toISOString() ?? null,
    },
    clientCreatedAt: c.clientCreatedAt?.toISOString() ?? null,
    keys: { delivery: c.keyDelivery, count: c.keyCount },
    vendorBuiltIn: c.vendorBuiltIn,
    managed: c.managedClientRowId !== null,
    managedClientRowId: c.managedClientRowId,
  };
}

/**
 * Estate discovery: a run lists every client at a server through its admin API (a worker job),
 * and an import brings chosen ones into Keyshift, their secrets read from the server where the
 * vendor lets an admin read them (audited, sealed at once) and refused where it does not.
 */
@Injectable()
export class InventoryService {
  constructor(
    private readonly servers: AuthorizationServersRepository,
    private readonly inventory: InventoryRepository,
    private readonly serverInventory: ServerInventory,
    private readonly imports: ClientImports,
    private readonly transactions: Transactions,
    private readonly audit: AuditLog,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
  ) {}

  async start(serverId: string, by: Principal): Promise<InventoryRunView> {
    const server = await this.server(serverId);
    const problem = this.serverInventory.cannotList(server);
    if (problem) throw new DomainError(ErrorCode.TransitionNotAllowed, problem);
    const run: InventoryRunEntity = {
      id: newId(),
      serverId,
      status: 'queued',
      nextPage: null,
      pages: 0,
      clientsFound: 0,
      adminCalls: 0,
      serverMs: 0,
      attempts: 0,
      generation: 0,
      progressAt: this.clock.now(),
      error: null,
      requestedBy: actorOf(by),
      createdAt: this.clock.now(),
      finishedAt: null,
    };
    await this.transactions.run(async (tx) => {
      await this.inventory.insertRun(tx, run);
      await this.audit.append(tx, [
        {
          actor: actorOf(by),
          action: 'authorization_server.inventory_requested',
          subjectType: 'authorization_server',
          subjectId: serverId,
          after: { runId: run.id },
        },
      ]);
    });
    try {
      await this.queue.enqueue({ name: JobName.InventoryRun, data: { runId: run.id, generation: 0 } });
    } catch {
      // Nothing half-queued: a run no job will work is closed with the reason.
      await this.inventory.finish(
        run.id,
        'failed',
        'could not be queued (Redis unavailable); request it again',
        this.clock.now(),
        null,
      );
      throw new DomainError(ErrorCode.DependencyUnavailable, 'the inventory could not be queued; try again');
    }
    return runView(run);
  }

  async get(
    serverId: string,
    runId: string,
    after: string | undefined,
    limit: number,
  ): Promise<{
    run: InventoryRunView;
    summary: InventorySummary;
    clients: ReturnType<typeof clientView>[];
    nextCursor: string | null;
  }> {
    const run = await this.run(serverId, runId);
    const from = after
      ? decodeCursor(after, (key) => key.length > 0 && encodeCursor(key) === after && !key.includes('\u0000'))
      : null;
    const [summary, page] = await Promise.all([
      this.inventory.summary(run, this.clock.now()),
      this.inventory.clients(run, from, limit + 1),
    ]);
    const clients = page.slice(0, limit);
    return {
      run: runView(run),
      summary,
      clients: clients.map(clientView),
      nextCursor: page.length > limit ? encodeCursor(clients[clients.length - 1].clientId) : null,
    };
  }

  /**
   * Brings the chosen clients in. Unknown ids are refused by position before anything is read;
   * clients Keyshift already manages, or that are not on a secret, are skipped and named.
   */
  async import(serverId: string, runId: string, input: ImportInventoryDto, by: Principal) {
    const run = await this.run(serverId, runId);
    const server = await this.server(serverId);
    if (run.status !== 'done') {
      throw new DomainError(ErrorCode.TransitionNotAllowed, `the inventory run is ${run.status}, not done`);
    }
    const listed = new Map(
      (await this.inventory.clients(run, null, input.clientIds.length, input.clientIds)).map((c) => [c.clientId, c]),
    );
    const unknown = input.clientIds.flatMap((id, i) => (listed.has(id) ? [] : [i]));
    if (unknown.length) {
      throw DomainError.validation(
        unknown.slice(0, 20).map((i) => ({ field: `clientIds[${i}]`, message: 'is not in this inventory run' })),
      );
    }
    const skipped: { clientId: string; reason: string }[] = [];
    const wanted: InventoriedClient[] = [];
    for (const id of new Set(input.clientIds)) {
      const c = listed.get(id)!;
      if (c.managedClientRowId) skipped.push({ clientId: id, reason: 'already managed by Keyshift' });
      else if (id === server.adminCredential?.clientId) {
        // Migrating it would switch Keyshift's own admin credential away from under it.
        skipped.push({ clientId: id, reason: "Keyshift's own admin service account at this server" });
      } else if (c.vendorBuiltIn) skipped.push({ clientId: id, reason: 'a client the server itself ships and uses' });
      else if (!c.authMethod || !SECRET_METHODS.includes(c.authMethod)) {
        skipped.push({ clientId: id, reason: `not on a shared secret (${c.authMethod ?? 'unknown method'})` });
      } else wanted.push(c);
    }
    if (wanted.length && !this.serverInventory.revealsSecrets(server)) {
      throw new DomainError(
        ErrorCode.TransitionNotAllowed,
        `the ${server.connectorType} connector cannot read secrets from the server: import these clients with their secrets through POST /v1/clients/import`,
      );
    }
    const rows = await this.rowsWithSecrets(server, wanted, input, actorOf(by));
    const report = rows.length
      ? await this.imports.import(rows, 'reject', by)
      : { received: 0, created: 0, updated: 0, unchanged: 0, rejected: 0, errors: [] };
    return { imported: report.created, skipped, report };
  }

  private async rowsWithSecrets(
    server: AuthorizationServerEntity,
    clients: InventoriedClient[],
    input: ImportInventoryDto,
    actor: string,
  ): Promise<{ row: number; value: unknown }[]> {
    const rows: { row: number; value: unknown }[] = [];
    for (let i = 0; i < clients.length; i += READ_CONCURRENCY) {
      const batch = clients.slice(i, i + READ_CONCURRENCY);
      const secrets = await Promise.all(batch.map((c) => this.readSecret(server, c.clientId, actor)));
      batch.forEach((c, j) =>
        rows.push({
          row: i + j + 1,
          value: {
            authorizationServerId: server.id,
            clientId: c.clientId,
            authMethod: c.authMethod,
            clientSecret: secrets[j],
            ...(c.secretIssuedAt ? { secretIssuedAt: c.secretIssuedAt.toISOString() } : {}),
            target: input.target,
            ...(input.owner ? { owner: input.owner } : {}),
            ...(input.tags ? { tags: input.tags } : {}),
          },
        }),
      );
    }
    return rows;
  }

  /** A refusal from the server is the caller's to act on (409), a transient fault a 503; the whole import stops. */
  private async readSecret(server: AuthorizationServerEntity, clientId: string, actor: string): Promise<string> {
    try {
      return await this.serverInventory.readSecret(server, clientId, actor);
    } catch (error) {
      if (!(error instanceof ConnectorError)) throw error;
      throw new DomainError(
        error.transient ? ErrorCode.DependencyUnavailable : ErrorCode.TransitionNotAllowed,
        `nothing was imported: reading ${clientId}'s secret failed: ${error.message}`,
      );
    }
  }

  private async server(id: string): Promise<AuthorizationServerEntity> {
    const server = await this.servers.findById(id);
    if (!server) throw DomainError.notFound('authorization server', id);
    return server;
  }

  private async run(serverId: string, runId: string): Promise<InventoryRunEntity> {
    const run = await this.inventory.findRun(serverId, runId);
    if (!run) throw DomainError.notFound('inventory run', runId);
    return run;
  }
}
