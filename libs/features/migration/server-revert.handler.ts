import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Logger, LOGGER } from '@keyshift/common';
import { Phase } from '@keyshift/domain';
import { JobHandler, JobName, PayloadOf } from '@keyshift/queue';
import { UnrecoverableError } from 'bullmq';
import { DataSource } from 'typeorm';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ClientEntity } from '../clients/client.entity';
import { ConnectorError } from '../connectors/server-connector';
import { FirstKey } from './first-key';
import { PublishedKeys, ServerRegistrar } from './server-registrar';

/**
 * After a rollback or a failed cutover the client row says which phase's registration the server
 * must be put back to (`server_revert_to`). This job does it through the same ServerRegistrar the
 * phases use, then clears the mark with an audit event. While the mark is set the reconciler
 * leaves the client alone, so the phase's own work never races the revert. Transient faults are
 * retried by BullMQ; a refusal is audited and kept failed (the sweep re-queues only when the
 * client changes).
 */
@Injectable()
export class ServerRevertHandler implements JobHandler<JobName.ServerRevert> {
  readonly name = JobName.ServerRevert;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registrar: ServerRegistrar,
    private readonly firstKey: FirstKey,
    private readonly audit: AuditLog,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async handle({ clientRowId }: PayloadOf<JobName.ServerRevert>): Promise<void> {
    const client = await this.dataSource.getRepository(ClientEntity).findOneBy({ id: clientRowId });
    const to = client?.serverRevertTo;
    if (!client || !to) return;
    const server = await this.dataSource
      .getRepository(AuthorizationServerEntity)
      .findOneByOrFail({ id: client.authorizationServerId });
    try {
      const keys = to === Phase.VendorCheck ? null : await this.keys(client, server);
      const outcome = await this.registrar.converge(client, server, to, keys);
      if (outcome.kind === 'awaiting_operator') return; // the operator's confirmation queues this job again
      await this.dataSource.transaction(async (m) => {
        const { affected } = await m
          .getRepository(ClientEntity)
          .createQueryBuilder()
          .update()
          .set({ serverRevertTo: null, version: () => 'version + 1', updatedAt: new Date() })
          .where('id = :id AND server_revert_to = :to', { id: client.id, to })
          .execute();
        if (affected !== 1) return;
        await this.audit.append(m, [
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
    return { jwksUri: this.registrar.jwksUri(key.jwksId), alg: key.alg, kids: [key.kid] };
  }
}
