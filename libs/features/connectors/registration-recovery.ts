import { Injectable } from '@nestjs/common';
import { Transactions, Tx } from '@keyshift/database';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import { ConnectorTargets, RegistrarClient } from './connector-targets';
import { ExchangeOperation, ExchangeStatus, RegistrationExchangeEntity } from './registration-exchange.entity';
import { RegistrationJournal } from './registration-journal';
import { RegistrationRecords } from './registration-records';
import { registrationAnswerProblem } from './registration-tokens';
import { ConnectorError, ServerAnswer, ServerConnector } from './server-connector';

/**
 * Settles exchanges a worker left open (killed between a request and the commit of its result),
 * by asking the server through the same connector.
 *
 * - Answered (the answer is in the journal): the registration is read, with the journalled token if
 *   the answer carried one. If that works the token is adopted, and the change is recorded if the
 *   read shows it; otherwise the next converge makes it again (an update is idempotent). If the
 *   server refuses the journalled token but still accepts the one Keyshift holds, the answer was
 *   superseded.
 * - Intent only (no answer reached the journal): the registration is read as Keyshift holds it. If
 *   the read shows the change, it is recorded; if not, the request never took effect. If the server
 *   refuses the token Keyshift holds, it committed the change and rotated the token in the moment
 *   before its answer was journalled: the protocol's limit. The exchange is settled as lost and the
 *   client waits on a person, with what happened and what to do. A successor registration without
 *   an answer cannot be looked up at all (RFC 7591): lost too.
 */
@Injectable()
export class RegistrationRecovery {
  constructor(
    private readonly journal: RegistrationJournal,
    private readonly targets: ConnectorTargets,
    private readonly records: RegistrationRecords,
    private readonly transactions: Transactions,
    private readonly audit: AuditLog,
  ) {}

  async recover(
    client: RegistrarClient,
    server: AuthorizationServerEntity,
    connector: ServerConnector,
  ): Promise<boolean> {
    const open = await this.journal.open(client.id);
    for (const exchange of open) {
      const at = new Settling(exchange, client, server, connector);
      if (exchange.status === ExchangeStatus.Answered) await this.adopt(at);
      else await this.resolveIntent(at);
    }
    return open.length > 0;
  }

  private async adopt(at: Settling): Promise<void> {
    const x = at.exchange;
    if (x.operation === ExchangeOperation.Delete) return this.recordDeleted(at, 'the server answered the delete');
    const token = this.journal.openToken(x);
    const successorId = x.operation === ExchangeOperation.Register ? stringIn(x.answer, 'client_id') : null;
    const uri = x.operation === ExchangeOperation.Register ? stringIn(x.answer, 'registration_client_uri') : null;
    const problem =
      x.operation === ExchangeOperation.Register
        ? registrationAnswerProblem(
            { clientId: successorId, registrationClientUri: uri, registrationAccessToken: token },
            at.tokenBound,
          )
        : null;
    if (problem) {
      // The normal path refuses such an answer by the same rule; it was killed before saying so.
      await this.settle(at, ExchangeStatus.Refused, problem);
      return;
    }
    if (token) {
      // The opening of a sealed token is on the record before it is used, as ClientSecrets does.
      await this.audit.recordSoon({
        actor: SYSTEM_ACTORS.worker,
        action: 'client.secret_accessed',
        subjectType: 'client',
        subjectId: x.clientRowId,
        after: { field: 'journalled_registration_access_token', purpose: 'recover an interrupted exchange' },
      });
    }
    let read: ServerAnswer;
    try {
      if (x.operation === ExchangeOperation.Register) {
        read = await at.connector.read({
          server: this.targets.server(at.server),
          clientId: successorId!,
          registration: 'successor',
          registrationClientUri: uri,
          registrationAccessToken: token,
        });
      } else {
        read = token
          ? await at.connector.read(await this.targets.targetWithToken(at.client, at.server, x.registration, token))
          : await this.readAsHeld(at);
      }
    } catch (error) {
      if (!(error instanceof ConnectorError) || error.transient) throw error;
      if (x.operation === ExchangeOperation.Update && (await this.heldStillWorks(at))) {
        await this.settle(at, ExchangeStatus.Superseded, 'the answer was superseded: the token Keyshift holds works');
        return;
      }
      throw await this.lost(at, `its journalled answer's token was refused too (${error.message})`);
    }
    const shown = reflects(x.change, read.metadata);
    await this.transactions.run(async (tx) => {
      if (x.operation === ExchangeOperation.Register) {
        await this.records.storeSuccessor(tx, x.clientRowId, { clientId: successorId!, uri, token });
      } else if (token) {
        await this.records.storeToken(tx, x.clientRowId, x.registration, token);
      }
      if (shown && x.plannedState) await this.records.setState(tx, x.clientRowId, x.plannedState);
      await this.settleIn(
        tx,
        at,
        ExchangeStatus.Applied,
        'recovered after an interrupted worker',
        'client.registration_recovered',
        {
          clientId: successorId ?? x.clientId,
          change: x.change,
          registrationAccessTokenAdopted: token !== null,
          // Not shown at the server: not recorded, so the next converge makes the change again.
          changeRecorded: shown && x.plannedState !== null,
        },
      );
    });
  }

  private async resolveIntent(at: Settling): Promise<void> {
    const x = at.exchange;
    if (x.operation === ExchangeOperation.Register) {
      const name = typeof x.change.client_name === 'string' ? ` named "${x.change.client_name}"` : '';
      throw await this.lost(
        at,
        `a successor registration${name} may exist at the server without Keyshift (RFC 7591 cannot look it up): delete it there if it does, then resume the client to register again`,
      );
    }
    let read: ServerAnswer;
    try {
      read = await this.readAsHeld(at);
    } catch (error) {
      if (!(error instanceof ConnectorError) || error.transient) throw error;
      if (x.operation === ExchangeOperation.Delete) {
        // Keyshift asked for the delete and the registration (or its token) is gone: what it asked for.
        // Should the registration in fact live on, the revocation probe (the old secret refused) still decides.
        return this.recordDeleted(at, `the registration no longer answers (${error.message})`);
      }
      throw await this.lost(
        at,
        at.tokenBound
          ? `the server no longer accepts the token Keyshift holds (${error.message}), so it took the update and rotated the token; ` +
              `the server's administrator must issue a new registration access token for ${x.clientId}`
          : `the server refused to show the registration (${error.message}); check ${x.clientId} at the server, then resume the client`,
      );
    }
    if (x.operation === ExchangeOperation.Update && x.plannedState && reflects(x.change, read.metadata)) {
      // A server that does not rotate tokens may have taken the request: what it shows decides.
      const plannedState = x.plannedState;
      await this.transactions.run(async (tx) => {
        await this.records.setState(tx, x.clientRowId, plannedState);
        await this.settleIn(
          tx,
          at,
          ExchangeStatus.Applied,
          'recovered after an interrupted worker: the server shows the change',
          'client.registration_recovered',
          {
            clientId: x.clientId,
            change: x.change,
            registrationAccessTokenAdopted: false,
            changeRecorded: true,
          },
        );
      });
      return;
    }
    await this.settle(
      at,
      ExchangeStatus.Abandoned,
      x.operation === ExchangeOperation.Delete
        ? 'the request never took effect: the registration still answers'
        : 'the request never took effect: the server does not show the change',
    );
  }

  private async recordDeleted(at: Settling, evidence: string): Promise<void> {
    const x = at.exchange;
    await this.transactions.run(async (tx) => {
      await this.records.forget(tx, x.clientRowId, x.registration);
      if (x.plannedState) await this.records.setState(tx, x.clientRowId, x.plannedState);
      await this.settleIn(
        tx,
        at,
        ExchangeStatus.Applied,
        `recovered after an interrupted worker: ${evidence}`,
        'client.registration_recovered',
        { clientId: x.clientId, evidence },
      );
    });
  }

  /** Settles an exchange as lost, on the record, and returns the error that stops the client with the reason. */
  private async lost(at: Settling, what: string): Promise<ConnectorError> {
    const x = at.exchange;
    const reason =
      `The ${x.operation === ExchangeOperation.Register ? 'registration' : x.operation} of ${x.clientId} ` +
      `(${x.registration} registration, started ${x.createdAt.toISOString()}) was interrupted before its answer was recorded: ${what}`;
    await this.transactions.run((tx) =>
      this.settleIn(tx, at, ExchangeStatus.Lost, reason, 'client.registration_answer_lost', { reason }),
    );
    return new ConnectorError(reason, false);
  }

  private async settle(at: Settling, status: ExchangeStatus, resolution: string): Promise<void> {
    await this.transactions.run((tx) =>
      this.settleIn(tx, at, status, resolution, 'client.registration_exchange_settled', { status, resolution }),
    );
  }

  /** Closes the exchange and audits how, in the caller's transaction: one event per settled exchange. */
  private async settleIn(
    tx: Tx,
    at: Settling,
    status: ExchangeStatus,
    resolution: string,
    action: string,
    detail: Record<string, unknown>,
  ): Promise<void> {
    const x = at.exchange;
    await this.journal.settle(x.id, status, resolution, tx);
    await this.audit.append(tx, [
      {
        actor: SYSTEM_ACTORS.worker,
        action,
        subjectType: 'client',
        subjectId: x.clientRowId,
        after: { exchangeId: x.id, operation: x.operation, registration: x.registration, ...detail },
      },
    ]);
  }

  /** A read with what Keyshift holds for the registration (its stored token opened, audited). */
  private readAsHeld(at: Settling): Promise<ServerAnswer> {
    return this.targets.with(
      at.client,
      at.server,
      at.connector,
      at.exchange.registration,
      'RFC 7592 read (recovery)',
      (t) => at.connector.read(t),
    );
  }

  private async heldStillWorks(at: Settling): Promise<boolean> {
    try {
      await this.readAsHeld(at);
      return true;
    } catch (error) {
      if (!(error instanceof ConnectorError) || error.transient) throw error;
      return false;
    }
  }
}

/** One open exchange and what settling it speaks to. */
class Settling {
  constructor(
    readonly exchange: RegistrationExchangeEntity,
    readonly client: RegistrarClient,
    readonly server: AuthorizationServerEntity,
    readonly connector: ServerConnector,
  ) {}

  /** The registration's own token is the credential: a refused token means the server rotated it. */
  get tokenBound(): boolean {
    return this.connector.capabilities.credential === 'registration_access_token';
  }
}

/** The fields of a change that a read of the registration shows. */
const COMPARED = ['token_endpoint_auth_method', 'jwks_uri', 'dpop_bound_access_tokens'] as const;

/** Whether the registration the server holds shows every field of the requested change. */
export function reflects(change: Record<string, unknown>, metadata: Record<string, unknown>): boolean {
  // A change none of whose fields a read can show proves nothing either way: not shown.
  if (!Object.keys(change).some((field) => COMPARED.includes(field as (typeof COMPARED)[number]))) return false;
  for (const field of COMPARED) {
    if (!(field in change)) continue;
    const wanted = change[field];
    const held = metadata[field];
    if (field === 'dpop_bound_access_tokens' ? (held === true) !== wanted : (held ?? null) !== (wanted ?? null)) {
      return false;
    }
  }
  return true;
}

function stringIn(answer: Record<string, unknown> | null, field: string): string | null {
  const value = answer?.[field];
  return typeof value === 'string' ? value : null;
}
