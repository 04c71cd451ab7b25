import { Injectable } from '@nestjs/common';
import { registrationClientUriProblem } from '../authorization-servers/registration-client-uri';
import { InjectDataSource } from '@nestjs/typeorm';
import { EnvelopeCipher } from '@keyshift/crypto';
import { DataSource, EntityManager } from 'typeorm';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { RegistrationRecovery } from './registration-recovery';
import { ExchangeOperation, ExchangeStatus } from './registration-exchange.entity';
import { RegistrationJournal } from './registration-journal';
import { recordableMetadata, updatableMetadata } from './registration-metadata';
import { forgetRegistration, storeRegistrationToken, storeSuccessor, tokenIn } from './registration-tokens';
import { Exchange, Rfc7592Http } from './rfc7592-http';
import {
  AfterChange,
  ConnectorCapabilities,
  ConnectorClient,
  ConnectorError,
  ConnectorResult,
  Registered,
  RegistrationChange,
  ServerConnector,
} from './server-connector';

/**
 * RFC 7592 client management with the registration access token Keyshift holds for the client.
 * An update is a full replacement (§2.2): the current registration is read, the change applied,
 * and the whole sent back.
 *
 * Servers may rotate the token on any update (node-oidc-provider does on every PUT, and the old one
 * dies at once), and a new registration's answer carries its only token. So each such request is
 * journalled (RegistrationJournal): an intent is committed before it is sent, and the answer, token
 * sealed, in its own transaction the moment it arrives, before any other work. Then the token and
 * the change are applied to the client row with the change's audit event, which closes the journal
 * row in the same transaction. A worker killed anywhere after the answer's commit loses nothing:
 * `recover` adopts the journalled answer. What no client can close is the moment between the
 * server committing a change and its answer's bytes reaching the journal (the round trip plus one
 * commit, a few milliseconds): an intent without an answer whose old token the server refuses is
 * settled as lost, and the client waits on a person with the reason.
 */
@Injectable()
export class Rfc7592Connector implements ServerConnector {
  readonly capabilities: ConnectorCapabilities = {
    automated: true,
    readable: true,
    // RFC 7591 gives a client one token_endpoint_auth_method: switching it is atomic.
    overlappingMethods: false,
    keyDelivery: ['jwks_uri', 'jwks'],
    canRegister: true,
    canDelete: true,
    canRequireDpop: true,
  };

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly http: Rfc7592Http,
    private readonly journal: RegistrationJournal,
    private readonly recovery: RegistrationRecovery,
    private readonly cipher: EnvelopeCipher,
    private readonly audit: AuditLog,
  ) {}

  async read(client: ConnectorClient): Promise<Record<string, unknown>> {
    const { body } = await this.http.withStoredToken(client, 'RFC 7592 read', 'GET');
    return recordableMetadata(body);
  }

  recover(clientRowId: string): Promise<boolean> {
    return this.recovery.recover(clientRowId);
  }

  async update(client: ConnectorClient, change: RegistrationChange, after?: AfterChange): Promise<ConnectorResult> {
    const which = client.registration ?? 'original';
    const current = await this.http.withStoredToken(client, 'RFC 7592 read', 'GET');
    const exchangeId = await this.journal.intend({
      clientRowId: client.clientRowId,
      operation: ExchangeOperation.Update,
      registration: which,
      clientId: client.clientId,
      change: describe(change),
      plannedState: after?.registrationState ?? null,
    });
    const updated = await this.journalled(exchangeId, () =>
      this.http.withStoredToken(client, 'RFC 7592 update', 'PUT', updatableMetadata(current.body, change)),
    );
    // The answer is durable before anything else happens: a rotated token survives this process.
    const rotated = tokenIn(updated.body);
    const metadata = recordableMetadata(updated.body);
    const serverMs = Math.round(current.latencyMs + updated.latencyMs);
    await this.journal.answered(exchangeId, rotated, metadata, serverMs);

    await this.dataSource.transaction(async (m) => {
      if (rotated) await storeRegistrationToken(m, this.cipher, client.clientRowId, which, rotated);
      if (after) await this.writeState(m, client.clientRowId, after);
      await this.journal.settle(exchangeId, ExchangeStatus.Applied, null, m);
      await this.audit.append(m, [
        {
          actor: SYSTEM_ACTORS.worker,
          action: 'client.registration_updated',
          subjectType: 'client',
          subjectId: client.clientRowId,
          after: {
            change: describe(change),
            serverMs,
            clientId: client.clientId,
            registration: which,
            registrationAccessTokenRotated: rotated !== null,
          },
        },
      ]);
    });
    return { kind: 'applied', metadata };
  }

  async remove(client: ConnectorClient, after?: AfterChange): Promise<ConnectorResult> {
    const which = client.registration ?? 'original';
    const exchangeId = await this.journal.intend({
      clientRowId: client.clientRowId,
      operation: ExchangeOperation.Delete,
      registration: which,
      clientId: client.clientId,
      change: { deleted: true },
      plannedState: after?.registrationState ?? null,
    });
    const deleted = await this.journalled(exchangeId, () =>
      this.http.withStoredToken(client, 'RFC 7592 delete', 'DELETE'),
    );
    const serverMs = Math.round(deleted.latencyMs);
    await this.journal.answered(exchangeId, null, {}, serverMs);
    await this.dataSource.transaction(async (m) => {
      await forgetRegistration(m, client.clientRowId, which);
      if (after) await this.writeState(m, client.clientRowId, after);
      await this.journal.settle(exchangeId, ExchangeStatus.Applied, null, m);
      await this.audit.append(m, [
        {
          actor: SYSTEM_ACTORS.worker,
          action: 'client.registration_deleted',
          subjectType: 'client',
          subjectId: client.clientRowId,
          after: { clientId: client.clientId, registration: which, serverMs },
        },
      ]);
    });
    return { kind: 'applied', metadata: {} };
  }

  /**
   * RFC 7591 registration of the successor. The answer carries the only copy of its registration
   * access token, so it is journalled like an update's (RFC 7591 offers no way to find a
   * registration again without it).
   */
  async registerSuccessor(
    client: ConnectorClient,
    registrationEndpoint: string,
    metadata: Record<string, unknown>,
    after?: AfterChange,
  ): Promise<Registered> {
    const exchangeId = await this.journal.intend({
      clientRowId: client.clientRowId,
      operation: ExchangeOperation.Register,
      registration: 'successor',
      clientId: client.clientId,
      change: {
        client_name: metadata.client_name ?? null,
        token_endpoint_auth_method: metadata.token_endpoint_auth_method ?? null,
        jwks_uri: metadata.jwks_uri ?? null,
      },
      plannedState: after?.registrationState ?? null,
    });
    const res = await this.journalled(exchangeId, () =>
      this.http.send('RFC 7591 registration', {
        method: 'POST',
        url: registrationEndpoint,
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify(metadata),
      }),
    );
    const body = res.body;
    const token = tokenIn(body);
    const clientId = typeof body.client_id === 'string' ? body.client_id : null;
    // The successor's token will be sent to this URI: it must be under the endpoint that registered
    // it. A URI elsewhere is never journalled, so neither this path nor recovery can use it.
    const offered = typeof body.registration_client_uri === 'string' ? body.registration_client_uri : null;
    const uriIssue = offered
      ? registrationClientUriProblem(offered, {
          issuer: registrationEndpoint,
          trustedHosts: [],
          capabilities: { registrationEndpoint },
        })
      : null;
    const uri = uriIssue ? null : offered;
    await this.journal.answered(
      exchangeId,
      token,
      { ...recordableMetadata(body), client_id: clientId, registration_client_uri: uri },
      Math.round(res.latencyMs),
    );
    if (!clientId || !token || !uri) {
      const reason = uriIssue
        ? `RFC 7591 registration: the answer's registration_client_uri ${uriIssue}; delete the registration at the server`
        : 'RFC 7591 registration: the answer lacks client_id, registration_access_token or registration_client_uri';
      await this.journal.settle(exchangeId, ExchangeStatus.Refused, reason);
      throw new ConnectorError(reason, false);
    }
    await this.dataSource.transaction(async (m) => {
      await storeSuccessor(m, this.cipher, client.clientRowId, { clientId, uri, token });
      if (after) await this.writeState(m, client.clientRowId, after);
      await this.journal.settle(exchangeId, ExchangeStatus.Applied, null, m);
      await this.audit.append(m, [
        {
          actor: SYSTEM_ACTORS.worker,
          action: 'client.successor_registered',
          subjectType: 'client',
          subjectId: client.clientRowId,
          after: {
            successorClientId: clientId,
            tokenEndpointAuthMethod: body.token_endpoint_auth_method,
            jwksUri: body.jwks_uri ?? null,
            serverMs: Math.round(res.latencyMs),
          },
        },
      ]);
    });
    return { clientId, metadata: recordableMetadata(body) };
  }

  /**
   * Sends a journalled request. A 4xx answer refused it (nothing changed, the token stands), so the
   * intent is closed as refused. No answer, or a 5xx, may hide a change the server made: the intent
   * stays open for recovery to settle by asking the server.
   */
  private async journalled(exchangeId: string, request: () => Promise<Exchange>): Promise<Exchange> {
    try {
      return await request();
    } catch (error) {
      if (error instanceof ConnectorError && error.httpStatus !== null && error.httpStatus < 500) {
        await this.journal.settle(exchangeId, ExchangeStatus.Refused, error.message);
      }
      throw error;
    }
  }

  private async writeState(m: EntityManager, clientRowId: string, after: AfterChange) {
    await m.query(`UPDATE clients SET registration_state = $2 WHERE id = $1`, [clientRowId, after.registrationState]);
  }
}

/** The change as the audit log records it: key sets by kid, never whole. */
export function describe(change: RegistrationChange): Record<string, unknown> {
  const { jwks, ...rest } = change;
  return jwks ? { ...rest, jwks: { kids: jwks.keys.map((k) => k.kid) } } : rest;
}
