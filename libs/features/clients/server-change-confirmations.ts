import { Injectable } from '@nestjs/common';
import { Clock, DomainError, ErrorCode } from '@keyshift/common';
import { Transactions } from '@keyshift/database';
import { actorOf, Principal } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { viewFromEntity } from './client-view';
import { ClientsRepository } from './clients.repository';
import { ClientTransitions, TransitionResult } from './client-transitions.service';
import { ServerReverts } from './server-reverts';

/**
 * An operator says they made the server change a manual connector asked for. Recorded on the
 * pending change and in the audit log, and the client is looked at again at once; whoever asked
 * (a phase, or a rollback's revert) then records the change and still probes for evidence.
 */
@Injectable()
export class ServerChangeConfirmations {
  constructor(
    private readonly clients: ClientsRepository,
    private readonly transactions: Transactions,
    private readonly transitions: ClientTransitions,
    private readonly reverts: ServerReverts,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  async confirm(clientRowId: string, note: string, by: Principal): Promise<TransitionResult> {
    const result = await this.transactions.run(async (m) => {
      const client = await this.clients.lockForUpdate(m, clientRowId);
      if (!client) throw DomainError.notFound('client', clientRowId);
      const pending = client.pendingServerChange;
      if (!pending) throw new DomainError(ErrorCode.TransitionNotAllowed, 'no server change is awaiting confirmation');
      if (pending.confirmedAt)
        throw new DomainError(ErrorCode.TransitionNotAllowed, 'this change was already confirmed');
      await this.clients.setPendingServerChange(m, clientRowId, {
        ...pending,
        confirmedAt: this.clock.now().toISOString(),
        confirmedBy: actorOf(by),
      });
      const detail = { note, change: pending.description };
      if (client.serverRevertTo) {
        // A rollback's revert asked for it: no phase is waiting, the revert job is (queued below).
        await this.audit.append(m, [
          {
            actor: actorOf(by),
            action: 'client.server_change_confirmed',
            subjectType: 'client',
            subjectId: clientRowId,
            after: detail,
          },
        ]);
        return { client: viewFromEntity(client), effects: [] };
      }
      return this.transitions.applyIn(m, clientRowId, { type: 'change_confirmed' }, actorOf(by), {
        auditDetail: detail,
      });
    });
    if (result.client.registration.revertPending) await this.reverts.enqueue(clientRowId, result.client.version);
    return result;
  }
}
