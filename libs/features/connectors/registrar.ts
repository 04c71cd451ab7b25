import { Injectable } from '@nestjs/common';
import { Transactions } from '@keyshift/database';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { AuthorizationServerEntity } from '../authorization-servers/authorization-server.entity';
import type { RegistrationState } from '../clients/client.entity';
import { ConnectorRegistry } from './connector-registry';
import { ConnectorTargets, RegistrarClient } from './connector-targets';
import { ExchangeOperation, ExchangeStatus } from './registration-exchange.entity';
import { RegistrationJournal } from './registration-journal';
import { RegistrationRecords } from './registration-records';
import { RegistrationRecovery } from './registration-recovery';
import { recordableMetadata } from './registration-metadata';
import { RegistrationKind, registrationAnswerProblem } from './registration-tokens';
import {
  ChangeOutcome,
  ConnectorCapabilities,
  ConnectorError,
  RegistrationChange,
  ServerConnector,
} from './server-connector';

export type { RegistrarClient };

/** What a change came to: applied (with what the server now holds), or handed to an operator. */
export type RegistrarOutcome =
  { kind: 'applied'; metadata: Record<string, unknown> } | { kind: 'awaiting_operator'; instructions: string[] };

/**
 * The only caller of connectors. Around every call it does what a connector must not: journals the
 * intent before the request and the answer (a rotated token sealed) the moment it arrives, then in
 * one transaction stores what the server answered, records the registration state the change
 * leads to, closes the journal row and appends the audit event. A worker killed anywhere after the
 * answer's commit loses nothing: RegistrationRecovery adopts the journalled answer.
 *
 * What no client can close is the moment between the server committing a change and its answer
 * reaching the journal (the round trip plus one commit, a few milliseconds): recovery settles an
 * intent whose effect it cannot see from the server as lost, and the client waits on a person.
 */
@Injectable()
export class Registrar {
  constructor(
    private readonly registry: ConnectorRegistry,
    private readonly targets: ConnectorTargets,
    private readonly journal: RegistrationJournal,
    private readonly records: RegistrationRecords,
    private readonly recovery: RegistrationRecovery,
    private readonly transactions: Transactions,
    private readonly audit: AuditLog,
  ) {}

  capabilities(server: AuthorizationServerEntity): ConnectorCapabilities {
    return this.connector(server).capabilities;
  }

  /**
   * Settles the client's interrupted exchanges first (adopts journalled answers, or stops the client
   * with what a person must do). Returns whether anything was settled (the caller re-reads state).
   */
  async recover(client: RegistrarClient, server: AuthorizationServerEntity): Promise<boolean> {
    const connector = this.connector(server);
    // Only automated changes are journalled; an operator's are confirmed through the API.
    if (!connector.capabilities.automated) return false;
    return this.recovery.recover(client, server, connector);
  }

  /** The registration as the server holds it now (no secret, no token). */
  async read(
    client: RegistrarClient,
    server: AuthorizationServerEntity,
    which: RegistrationKind = 'original',
  ): Promise<Record<string, unknown>> {
    const connector = this.connector(server);
    const answer = await this.targets.with(client, server, connector, which, 'RFC 7592 read', (t) => connector.read(t));
    // A server may rotate the token on any answer (RFC 7592 §3); a read changes nothing else.
    const rotated = answer.registrationAccessToken;
    if (rotated) {
      await this.transactions.run(async (tx) => {
        await this.records.storeToken(tx, client.id, which, rotated);
        await this.audit.append(tx, [
          {
            actor: SYSTEM_ACTORS.worker,
            action: 'client.registration_access_token_rotated',
            subjectType: 'client',
            subjectId: client.id,
            after: { registration: which, by: 'the server, answering a read' },
          },
        ]);
      });
    }
    return recordableMetadata(answer.metadata);
  }

  async update(
    client: RegistrarClient,
    server: AuthorizationServerEntity,
    which: RegistrationKind,
    change: RegistrationChange,
    plannedState: RegistrationState | null,
  ): Promise<RegistrarOutcome> {
    const connector = this.connector(server);
    const held = await this.targets.held(client, which);
    const call = () =>
      this.targets.with(client, server, connector, which, 'RFC 7592 update', (t) => connector.update(t, change), held);
    if (!connector.capabilities.automated) return handedOver(await call());
    const clientId = held.clientId;
    const exchangeId = await this.journal.intend({
      clientRowId: client.id,
      operation: ExchangeOperation.Update,
      registration: which,
      clientId,
      change: describe(change),
      plannedState,
    });
    const outcome = await this.journalled(exchangeId, call);
    if (outcome.kind === 'awaiting_operator') {
      await this.journal.settle(exchangeId, ExchangeStatus.Abandoned, 'handed to an operator');
      return outcome;
    }
    const answer = { ...outcome.answer, metadata: recordableMetadata(outcome.answer.metadata) };
    const rotated = answer.registrationAccessToken;
    // The answer is durable before anything else happens: a rotated token survives this process.
    await this.journal.answered(exchangeId, rotated, answer.metadata, answer.serverMs);
    await this.transactions.run(async (tx) => {
      if (rotated) await this.records.storeToken(tx, client.id, which, rotated);
      if (plannedState) await this.records.setState(tx, client.id, plannedState);
      await this.journal.settle(exchangeId, ExchangeStatus.Applied, null, tx);
      await this.audit.append(tx, [
        {
          actor: SYSTEM_ACTORS.worker,
          action: 'client.registration_updated',
          subjectType: 'client',
          subjectId: client.id,
          after: {
            change: describe(change),
            serverMs: answer.serverMs,
            clientId,
            registration: which,
            registrationAccessTokenRotated: rotated !== null,
          },
        },
      ]);
    });
    return { kind: 'applied', metadata: answer.metadata };
  }

  /** Deletes the registration; a successor's is forgotten by Keyshift with it. */
  async remove(
    client: RegistrarClient,
    server: AuthorizationServerEntity,
    which: RegistrationKind,
    plannedState: RegistrationState | null,
  ): Promise<RegistrarOutcome> {
    const connector = this.connector(server);
    if (!connector.capabilities.canDelete) {
      throw new ConnectorError(
        `the ${server.connectorType} connector cannot delete registrations at ${server.issuer}`,
        false,
      );
    }
    const held = await this.targets.held(client, which);
    const call = () =>
      this.targets.with(client, server, connector, which, 'RFC 7592 delete', (t) => connector.remove(t), held);
    if (!connector.capabilities.automated) return handedOver(await call());
    const clientId = held.clientId;
    const exchangeId = await this.journal.intend({
      clientRowId: client.id,
      operation: ExchangeOperation.Delete,
      registration: which,
      clientId,
      change: { deleted: true },
      plannedState,
    });
    const outcome = await this.journalled(exchangeId, call);
    if (outcome.kind === 'awaiting_operator') {
      await this.journal.settle(exchangeId, ExchangeStatus.Abandoned, 'handed to an operator');
      return outcome;
    }
    const serverMs = outcome.answer.serverMs;
    await this.journal.answered(exchangeId, null, {}, serverMs);
    await this.transactions.run(async (tx) => {
      await this.records.forget(tx, client.id, which);
      if (plannedState) await this.records.setState(tx, client.id, plannedState);
      await this.journal.settle(exchangeId, ExchangeStatus.Applied, null, tx);
      await this.audit.append(tx, [
        {
          actor: SYSTEM_ACTORS.worker,
          action: 'client.registration_deleted',
          subjectType: 'client',
          subjectId: client.id,
          after: { clientId, registration: which, serverMs },
        },
      ]);
    });
    return { kind: 'applied', metadata: {} };
  }

  /**
   * Registers the client's successor. The answer may carry the only copy of its credential (an
   * RFC 7591 registration access token), so it is journalled like an update's.
   */
  async register(
    client: RegistrarClient,
    server: AuthorizationServerEntity,
    metadata: Record<string, unknown>,
    plannedState: RegistrationState | null,
  ): Promise<{ clientId: string; metadata: Record<string, unknown> }> {
    const connector = this.connector(server);
    if (!connector.capabilities.canRegister || !connector.capabilities.automated) {
      throw new ConnectorError(
        `the ${server.connectorType} connector cannot register a successor at ${server.issuer} (use strategy in_place)`,
        false,
      );
    }
    const exchangeId = await this.journal.intend({
      clientRowId: client.id,
      operation: ExchangeOperation.Register,
      registration: 'successor',
      clientId: client.clientId,
      change: {
        client_name: metadata.client_name ?? null,
        token_endpoint_auth_method: metadata.token_endpoint_auth_method ?? null,
        jwks_uri: metadata.jwks_uri ?? null,
      },
      plannedState,
    });
    const answered = await this.journalled(exchangeId, () => connector.register(this.targets.server(server), metadata));
    const created = { ...answered, metadata: recordableMetadata(answered.metadata) };
    // Journalled before it is judged: the server may hold the registration whatever Keyshift makes of it.
    await this.journal.answered(
      exchangeId,
      created.registrationAccessToken,
      { ...created.metadata, client_id: created.clientId, registration_client_uri: created.registrationClientUri },
      created.serverMs,
    );
    const problem =
      created.refusal ??
      registrationAnswerProblem(created, connector.capabilities.credential === 'registration_access_token');
    const successorId = created.clientId;
    if (problem || !successorId) {
      const reason = `${problem}${successorId ? ` (the server named it ${successorId})` : ''}`;
      await this.journal.settle(exchangeId, ExchangeStatus.Refused, reason);
      throw new ConnectorError(reason, false);
    }
    await this.transactions.run(async (tx) => {
      await this.records.storeSuccessor(tx, client.id, {
        clientId: successorId,
        uri: created.registrationClientUri,
        token: created.registrationAccessToken,
      });
      if (plannedState) await this.records.setState(tx, client.id, plannedState);
      await this.journal.settle(exchangeId, ExchangeStatus.Applied, null, tx);
      await this.audit.append(tx, [
        {
          actor: SYSTEM_ACTORS.worker,
          action: 'client.successor_registered',
          subjectType: 'client',
          subjectId: client.id,
          after: {
            successorClientId: successorId,
            tokenEndpointAuthMethod: created.metadata.token_endpoint_auth_method,
            jwksUri: created.metadata.jwks_uri ?? null,
            serverMs: created.serverMs,
          },
        },
      ]);
    });
    return { clientId: successorId, metadata: created.metadata };
  }

  private connector(server: AuthorizationServerEntity): ServerConnector {
    return this.registry.for(server.connectorType);
  }

  /**
   * Sends a journalled request. A 4xx answer refused it (nothing changed at the server): the intent
   * is closed as refused. No answer, or a 5xx, may hide a change the server made: the intent stays
   * open for recovery to settle by asking.
   */
  private async journalled<T>(exchangeId: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (
        error instanceof ConnectorError &&
        error.httpStatus !== null &&
        error.httpStatus >= 400 &&
        error.httpStatus < 500
      ) {
        await this.journal.settle(exchangeId, ExchangeStatus.Refused, error.message);
        // (an answer the connector itself refuses comes back as a NewRegistration with `refusal`)
      }
      throw error;
    }
  }
}

/** A connector that is not automated hands every change to an operator; anything else is its bug. */
function handedOver(outcome: ChangeOutcome): RegistrarOutcome {
  if (outcome.kind === 'awaiting_operator') return outcome;
  throw new Error('a connector that is not automated reported a change as applied (it must hand it to an operator)');
}

/** The change as the audit log records it: key sets by kid, never whole. */
export function describe(change: RegistrationChange): Record<string, unknown> {
  const { jwks, ...rest } = change;
  return jwks ? { ...rest, jwks: { kids: jwks.keys.map((k) => k.kid) } } : rest;
}
