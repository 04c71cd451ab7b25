import { Inject, Injectable } from '@nestjs/common';
import { Logger, LOGGER } from '@keyshift/common';
import { Transactions } from '@keyshift/database';
import { Phase } from '@keyshift/domain';
import { JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import { UnrecoverableError } from 'bullmq';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { AuthorizationServersRepository } from '../authorization-servers/authorization-servers.repository';
import { ClientEntity } from '../clients/client.entity';
import { ClientsRepository } from '../clients/clients.repository';
import { ConnectorError } from '../connectors/server-connector';
import { FirstKey } from './first-key';
import { PublishedKeys, RegistrationConverger } from './registration-converger';

/**
 * After a rollback or a failed cutover the client row says which phase's registration the server
 * must be put back to (`server_revert_to`). This job does it through the same RegistrationConverger the
 * phases use, then clears the mark with an audit event. While the mark is set the reconciler
 * leaves the client alone, so the phase's own work never races the revert. Transient faults are
 * retried by BullMQ; a refusal is audited and kept failed (the sweep re-queues only when the
 * client changes).
 */
@Injectable()
export class ServerRevertHandler implements JobHandler<JobName.ServerRevert> {
  readonly name = JobName.ServerRevert;

  constructor(
    private readonly clients: ClientsRepository,
    private readonly servers: AuthorizationServersRepository,
    private readonly transactions: Transactions,
    private readonly converger: RegistrationConverger,
    private readonly firstKey: FirstKey,
    private readonly audit: AuditLog,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle({ clientRowId }: PayloadOf<JobName.ServerRevert>): Promise<void> {
    const client = await this.clients.findById(clientRowId);
    const to = client?.serverRevertTo;
    if (!client || !to) return;
    const server = await this.servers.get(client.authorizationServerId);
    try {
      const keys = to === Phase.VendorCheck ? null : await this.keys(client, server);
      const outcome = await this.converger.converge(client, server, to, keys);
      if (outcome.kind === 'awaiting_operator') return; // the operator's confirmation queues this job again
      await this.transactions.run(async (tx) => {
        if (!(await this.clients.clearServerRevert(tx, client.id, to))) return;
        await this.audit.append(tx, [
          {
            actor: SYSTEM_ACTORS.worker,
            action: 'client.server_reverted',
            subjectType: 'client',
            subjectId: client.id,
            after: { to, changedAtServer: outcome.kind === 'changed', registration: outcome.state },
          },
        ]);
      });
    } catch (error) {
      if (!(error instanceof ConnectorError) || error.transient) throw error;
      await this.audit.record([
        {
          actor: SYSTEM_ACTORS.worker,
          action: 'client.server_revert_failed',
          subjectType: 'client',
          subjectId: client.id,
          after: { to, reason: error.message },
        },
      ]);
      this.logger.warn({ clientRowId, to, reason: error.message }, 'server revert refused');
      throw new UnrecoverableError(error.message);
    }
  }

  private async keys(client: ClientEntity, server: AuthorizationServerEntity): Promise<PublishedKeys> {
    const key = await this.firstKey.ensure(client.id, server);
    return { jwksUri: this.converger.jwksUri(key.jwksId), alg: key.alg, kids: [key.kid] };
  }
}
