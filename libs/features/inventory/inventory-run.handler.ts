import { Inject, Injectable } from '@nestjs/common';
import { Clock, Logger, LOGGER } from '@keyshift/common';
import { Transactions } from '@keyshift/database';
import { INVENTORY_ATTEMPTS, JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { AuthorizationServersRepository } from '../authorization-servers/authorization-servers.repository';
import { ConnectorError, ListedClient } from '../connectors/server-connector';
import { ServerInventory } from '../connectors/server-inventory';
import { InventoryClientEntity } from './inventory.entity';
import { InventoryRepository } from './inventory.repository';

/** A listing longer than this is a server whose paging does not end (10 million clients at 100 a page). */
const MAX_PAGES = 100_000;

/**
 * Works one inventory run: page after page from the server's admin API, each page stored with the
 * cursor after it in one transaction, so a killed worker's retry resumes at the next unread page
 * and a duplicate delivery stores nothing. A refusal (or the last attempt) fails the run with the
 * reason; a transient fault throws, and BullMQ retries with backoff.
 */
@Injectable()
export class InventoryRunHandler implements JobHandler<JobName.InventoryRun> {
  readonly name = JobName.InventoryRun;

  constructor(
    private readonly inventory: InventoryRepository,
    private readonly servers: AuthorizationServersRepository,
    private readonly serverInventory: ServerInventory,
    private readonly transactions: Transactions,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle({ runId }: PayloadOf<JobName.InventoryRun>): Promise<void> {
    const run = await this.inventory.claim(runId);
    if (!run) return;
    const server = await this.servers.get(run.serverId);
    let pages = run.pages;
    let cursor = run.nextPage;
    try {
      while (pages === 0 || cursor !== null) {
        if (pages >= MAX_PAGES) throw new ConnectorError(`the listing did not end after ${MAX_PAGES} pages`, false);
        const page = await this.serverInventory.page(server, cursor);
        if (page.next !== null && page.next === cursor) {
          throw new ConnectorError(
            'the server answered the same page cursor twice: its listing does not advance',
            false,
          );
        }
        const rows = page.clients.map((c) => inventoryRow(run.id, c));
        const saved = await this.transactions.run((tx) =>
          this.inventory.savePage(tx, { id: run.id, pages }, rows, page.next, page.calls, page.serverMs),
        );
        if (!saved) return; // another delivery of this job moved the run on
        pages += 1;
        cursor = page.next;
      }
    } catch (error) {
      // A refusal ends the run; anything else is retried by BullMQ while attempts remain.
      const refused = error instanceof ConnectorError && !error.transient;
      if (!refused && run.attempts < INVENTORY_ATTEMPTS) {
        this.logger.warn(
          { runId, attempt: run.attempts, err: (error as Error).message },
          'inventory page failed; retrying',
        );
        throw error;
      }
      const reason =
        error instanceof ConnectorError ? error.message : 'the listing failed unexpectedly (see the worker log)';
      if (!(error instanceof ConnectorError))
        this.logger.error({ runId, err: (error as Error).message }, 'inventory run failed');
      if (await this.inventory.finish(run.id, 'failed', reason, this.clock.now(), run.attempts)) {
        await this.record(run.serverId, 'authorization_server.inventory_failed', { runId, reason });
      }
      return;
    }
    if (await this.inventory.finish(run.id, 'done', null, this.clock.now(), run.attempts)) {
      await this.record(run.serverId, 'authorization_server.inventory_completed', { runId, pages });
    }
  }

  private record(serverId: string, action: string, after: Record<string, unknown>): Promise<void> {
    return this.audit.recordSoon({
      actor: SYSTEM_ACTORS.worker,
      action,
      subjectType: 'authorization_server',
      subjectId: serverId,
      after,
    });
  }
}

function inventoryRow(runId: string, c: ListedClient): InventoryClientEntity {
  return {
    runId,
    clientId: c.clientId,
    name: c.name,
    authMethod: c.authMethod,
    secretCount: c.secrets.count,
    secretIssuedAt: c.secrets.issuedAt,
    secretExpiresAt: c.secrets.expiresAt,
    clientCreatedAt: c.createdAt,
    keyDelivery: c.keys.delivery,
    keyCount: c.keys.count,
    grantTypes: c.grantTypes,
    vendorBuiltIn: c.vendorBuiltIn,
  };
}
