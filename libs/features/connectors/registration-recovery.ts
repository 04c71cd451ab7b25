import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { EnvelopeCipher } from '@keyshift/crypto';
import { DataSource, EntityManager } from 'typeorm';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { ExchangeOperation, ExchangeStatus, RegistrationExchangeEntity } from './registration-exchange.entity';
import { RegistrationJournal } from './registration-journal';
import { recordableMetadata } from './registration-metadata';
import { forgetRegistration, storeRegistrationToken, storeSuccessor, TOKEN_COLUMNS } from './registration-tokens';
import { Exchange, Rfc7592Http } from './rfc7592-http';
import { ConnectorError } from './server-connector';

/**
 * Settles exchanges a worker left open (killed between a request and the commit of its result).
 *
 * - Answered (the answer is in the journal): the journalled token is tried with an RFC 7592 read.
 *   If it works it is adopted, and the change is recorded if the registration read shows it;
 *   otherwise the next converge makes it again (an update is idempotent). If the server refuses it
 *   but still accepts the token Keyshift holds, the answer was superseded.
 * - Intent only (no answer reached the journal): the token Keyshift holds is tried. If it works,
 *   the request never took effect. If the server refuses it, the server committed the change and
 *   rotated the token in the moment before its answer was journalled: the protocol's limit. The
 *   exchange is settled as lost and the client waits on a person, with what happened and what to do.
 *   A successor registration without an answer cannot be looked up at all (RFC 7591): lost too.
 */
@Injectable()
export class RegistrationRecovery {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly http: Rfc7592Http,
    private readonly journal: RegistrationJournal,
    private readonly cipher: EnvelopeCipher,
    private readonly audit: AuditLog,
  ) {}

  async recover(clientRowId: string): Promise<boolean> {
    const open = await this.journal.open(clientRowId);
    for (const exchange of open) {
      if (exchange.status === ExchangeStatus.Answered) await this.adopt(exchange);
      else await this.resolveIntent(exchange);
    }
    return open.length > 0;
  }

  private async adopt(x: RegistrationExchangeEntity): Promise<void> {
    if (x.operation === ExchangeOperation.Delete) return this.recordDeleted(x, 'the server answered the delete');
    const token = this.journal.openToken(x);
    const uri = x.operation === ExchangeOperation.Register ? stringIn(x.answer, 'registration_client_uri') : null;
    if (x.operation === ExchangeOperation.Register && (!token || !uri || !stringIn(x.answer, 'client_id'))) {
      // The normal path refuses such an answer too; it was killed before saying so.
      await this.settle(
        x,
        ExchangeStatus.Refused,
        'RFC 7591 registration: the answer lacks client_id, registration_access_token or registration_client_uri',
      );
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
    let read: Exchange;
    try {
      read = token
        ? await this.http.withToken(uri ?? (await this.storedUri(x)), token, 'RFC 7592 read (recovery)', 'GET')
        : await this.readWithStored(x);
    } catch (error) {
      if (!(error instanceof ConnectorError) || error.transient) throw error;
      if (x.operation === ExchangeOperation.Update && (await this.storedTokenWorks(x))) {
        await this.settle(x, ExchangeStatus.Superseded, 'the answer was superseded: the token Keyshift holds works');
        return;
      }
      throw await this.lost(x, `its journalled answer's token was refused too (${error.message})`);
    }
    const metadata = recordableMetadata(read.body);
    const shown = reflects(x.change, metadata);
    await this.dataSource.transaction(async (m) => {
      if (x.operation === ExchangeOperation.Register) {
        await storeSuccessor(m, this.cipher, x.clientRowId, {
          clientId: stringIn(x.answer, 'client_id')!,
          uri: uri!,
          token: token!,
        });
      } else if (token) {
        await storeRegistrationToken(m, this.cipher, x.clientRowId, x.registration, token);
      }
      if (shown && x.plannedState) {
        await m.query(`UPDATE clients SET registration_state = $2 WHERE id = $1`, [x.clientRowId, x.plannedState]);
      }
      await this.settleIn(
        m,
        x,
        ExchangeStatus.Applied,
        'recovered after an interrupted worker',
        'client.registration_recovered',
        {
          clientId: x.operation === ExchangeOperation.Register ? stringIn(x.answer, 'client_id') : x.clientId,
          change: x.change,
          registrationAccessTokenAdopted: token !== null,
          // Not shown at the server: not recorded, so the next converge makes the change again.
          changeRecorded: shown && x.plannedState !== null,
        },
      );
    });
  }

  private async resolveIntent(x: RegistrationExchangeEntity): Promise<void> {
    if (x.operation === ExchangeOperation.Register) {
      const name = typeof x.change.client_name === 'string' ? ` named "${x.change.client_name}"` : '';
      throw await this.lost(
        x,
        `a successor registration${name} may exist at the server without Keyshift (RFC 7591 cannot look it up): delete it there if it does, then resume the client to register again`,
      );
    }
    try {
      await this.readWithStored(x);
    } catch (error) {
      if (!(error instanceof ConnectorError) || error.transient) throw error;
      if (x.operation === ExchangeOperation.Delete) {
        // Keyshift asked for the delete and the registration (or its token) is gone: what it asked for.
        // Should the registration in fact live on, the revocation probe (the old secret refused) still decides.
        return this.recordDeleted(x, `the registration no longer answers to its token (${error.message})`);
      }
      throw await this.lost(
        x,
        `the server no longer accepts the token Keyshift holds (${error.message}), so it took the update and rotated the token; ` +
          `the server's administrator must issue a new registration access token for ${x.clientId}`,
      );
    }
    await this.settle(
      x,
      ExchangeStatus.Abandoned,
      'the request never took effect: the token Keyshift holds still works',
    );
  }

  private async recordDeleted(x: RegistrationExchangeEntity, evidence: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      await forgetRegistration(m, x.clientRowId, x.registration);
      if (x.plannedState) {
        await m.query(`UPDATE clients SET registration_state = $2 WHERE id = $1`, [x.clientRowId, x.plannedState]);
      }
      await this.settleIn(
        m,
        x,
        ExchangeStatus.Applied,
        `recovered after an interrupted worker: ${evidence}`,
        'client.registration_recovered',
        { clientId: x.clientId, evidence },
      );
    });
  }

  /** Settles an exchange as lost, on the record, and returns the error that stops the client with the reason. */
  private async lost(x: RegistrationExchangeEntity, what: string): Promise<ConnectorError> {
    const reason =
      `${x.operation === ExchangeOperation.Register ? 'RFC 7591 registration' : 'RFC 7592 update'} of ${x.clientId} ` +
      `(${x.registration} registration, started ${x.createdAt.toISOString()}) was interrupted before its answer was recorded: ${what}`;
    await this.dataSource.transaction((m) =>
      this.settleIn(m, x, ExchangeStatus.Lost, reason, 'client.registration_answer_lost', { reason }),
    );
    return new ConnectorError(reason, false);
  }

  private async settle(x: RegistrationExchangeEntity, status: ExchangeStatus, resolution: string): Promise<void> {
    await this.dataSource.transaction((m) =>
      this.settleIn(m, x, status, resolution, 'client.registration_exchange_settled', { status, resolution }),
    );
  }

  /** Closes the exchange and audits how, in the caller's transaction: one event per settled exchange. */
  private async settleIn(
    m: EntityManager,
    x: RegistrationExchangeEntity,
    status: ExchangeStatus,
    resolution: string,
    action: string,
    detail: Record<string, unknown>,
  ): Promise<void> {
    await this.journal.settle(x.id, status, resolution, m);
    await this.audit.append(m, [
      {
        actor: SYSTEM_ACTORS.worker,
        action,
        subjectType: 'client',
        subjectId: x.clientRowId,
        after: { exchangeId: x.id, operation: x.operation, registration: x.registration, ...detail },
      },
    ]);
  }

  private readWithStored(x: RegistrationExchangeEntity): Promise<Exchange> {
    return this.http.withStoredToken(
      { clientRowId: x.clientRowId, clientId: x.clientId, registration: x.registration },
      'RFC 7592 read (recovery)',
      'GET',
    );
  }

  private async storedTokenWorks(x: RegistrationExchangeEntity): Promise<boolean> {
    try {
      await this.readWithStored(x);
      return true;
    } catch (error) {
      if (!(error instanceof ConnectorError) || error.transient) throw error;
      return false;
    }
  }

  private async storedUri(x: RegistrationExchangeEntity): Promise<string> {
    const [row] = (await this.dataSource.query(
      `SELECT ${TOKEN_COLUMNS[x.registration].uri} AS uri FROM clients WHERE id = $1`,
      [x.clientRowId],
    )) as { uri: string | null }[];
    if (!row?.uri) throw new ConnectorError(`client ${x.clientId} has no registration_client_uri in Keyshift`, false);
    return row.uri;
  }
}

/** Whether the registration the server holds shows every field of the requested change. */
export function reflects(change: Record<string, unknown>, metadata: Record<string, unknown>): boolean {
  for (const field of ['token_endpoint_auth_method', 'jwks_uri', 'dpop_bound_access_tokens'] as const) {
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
