import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { EnvelopeCipher } from '@keyshift/crypto';
import { OutboundError, OutboundHttp } from '@keyshift/outbound';
import { DataSource } from 'typeorm';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { AuditLog } from '../audit/audit-log.service';
import { ClientSecrets } from '../clients/client-secrets.service';
import { secretContext } from '../clients/secret-context';
import { recordableMetadata, updatableMetadata } from './registration-metadata';
import {
  ConnectorCapabilities,
  ConnectorClient,
  ConnectorError,
  ConnectorResult,
  RecordWith,
  Registered,
  RegistrationChange,
  ServerConnector,
} from './server-connector';

/** Where each of a row's registrations keeps its URI and sealed token. */
const TOKEN_COLUMNS = {
  original: {
    uri: 'registration_client_uri',
    ciphertext: 'registration_access_token_ciphertext',
    fingerprint: 'registration_access_token_fingerprint',
  },
  successor: {
    uri: 'successor_registration_client_uri',
    ciphertext: 'successor_registration_access_token_ciphertext',
    fingerprint: null,
  },
} as const;

interface Exchange {
  status: number;
  body: Record<string, unknown>;
  /** Time spent waiting on the server (recorded with the change: it is what a migration costs the server). */
  latencyMs: number;
}

/**
 * RFC 7592 client management with the registration access token Keyshift holds for the client.
 * An update is a full replacement (§2.2): the current registration is read, the change applied,
 * and the whole sent back. Servers may rotate the token on any call (node-oidc-provider does on
 * every PUT, and the old one dies at once), so a new token is sealed and stored in the same
 * transaction as the audit event of the change it came with.
 */
@Injectable()
export class Rfc7592Connector implements ServerConnector {
  readonly capabilities: ConnectorCapabilities = {
    automated: true,
    // RFC 7591 gives a client one token_endpoint_auth_method: switching it is atomic.
    overlappingMethods: false,
    keyDelivery: ['jwks_uri', 'jwks'],
    canRegister: true,
    canDelete: true,
    canRequireDpop: true,
  };

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly http: OutboundHttp,
    private readonly secrets: ClientSecrets,
    private readonly cipher: EnvelopeCipher,
    private readonly audit: AuditLog,
  ) {}

  async read(client: ConnectorClient): Promise<Record<string, unknown>> {
    const { body } = await this.exchange(client, 'RFC 7592 read', 'GET');
    return recordableMetadata(body);
  }

  async update(client: ConnectorClient, change: RegistrationChange, record?: RecordWith): Promise<ConnectorResult> {
    const current = await this.exchange(client, 'RFC 7592 read', 'GET');
    const updated = await this.exchange(client, 'RFC 7592 update', 'PUT', updatableMetadata(current.body, change));
    const metadata = recordableMetadata(updated.body);
    const serverMs = Math.round(current.latencyMs + updated.latencyMs);
    await this.record(
      client,
      'client.registration_updated',
      { change: describe(change), serverMs },
      updated.body,
      record,
    );
    return { kind: 'applied', metadata };
  }

  async remove(client: ConnectorClient, record?: RecordWith): Promise<ConnectorResult> {
    const deleted = await this.exchange(client, 'RFC 7592 delete', 'DELETE');
    const columns = TOKEN_COLUMNS[client.registration ?? 'original'];
    await this.dataSource.transaction(async (m) => {
      // The token died with the registration.
      await m.query(
        `UPDATE clients SET ${columns.ciphertext} = NULL${columns.fingerprint ? `, ${columns.fingerprint} = NULL` : ''},
           updated_at = now() WHERE id = $1`,
        [client.clientRowId],
      );
      await record?.(m);
      await this.audit.append(m, [
        {
          actor: SYSTEM_ACTORS.worker,
          action: 'client.registration_deleted',
          subjectType: 'client',
          subjectId: client.clientRowId,
          after: {
            clientId: client.clientId,
            registration: client.registration ?? 'original',
            serverMs: Math.round(deleted.latencyMs),
          },
        },
      ]);
    });
    return { kind: 'applied', metadata: {} };
  }

  /**
   * RFC 7591 registration of the successor. The response carries the only copy of its
   * registration access token, so it is sealed and stored in the transaction that records the
   * registration. (If the worker dies between the server's answer and that commit, the new
   * registration is orphaned at the server: RFC 7591 offers no way to find it again.)
   */
  async registerSuccessor(
    client: ConnectorClient,
    registrationEndpoint: string,
    metadata: Record<string, unknown>,
    record?: RecordWith,
  ): Promise<Registered> {
    const res = await this.send('RFC 7591 registration', {
      method: 'POST',
      url: registrationEndpoint,
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify(metadata),
    });
    const body = res.body;
    const clientId = typeof body.client_id === 'string' ? body.client_id : null;
    const token = typeof body.registration_access_token === 'string' ? body.registration_access_token : null;
    const uri = typeof body.registration_client_uri === 'string' ? body.registration_client_uri : null;
    if (!clientId || !token || !uri) {
      throw new ConnectorError(
        'RFC 7591 registration: the answer lacks client_id, registration_access_token or registration_client_uri',
        false,
      );
    }
    await this.dataSource.transaction(async (m) => {
      await m.query(
        `UPDATE clients SET successor_client_id = $2, successor_registration_client_uri = $3,
           successor_registration_access_token_ciphertext = $4, updated_at = now() WHERE id = $1`,
        [
          client.clientRowId,
          clientId,
          uri,
          this.cipher.encrypt(token, secretContext.successorRegistrationAccessToken(client.clientRowId)),
        ],
      );
      await record?.(m);
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

  /** The audit event of a change, and the rotated token if the server issued one, in one transaction. */
  private async record(
    client: ConnectorClient,
    action: string,
    after: object,
    response: Record<string, unknown>,
    record?: RecordWith,
  ) {
    const rotated = typeof response.registration_access_token === 'string' ? response.registration_access_token : null;
    const which = client.registration ?? 'original';
    const columns = TOKEN_COLUMNS[which];
    await this.dataSource.transaction(async (m) => {
      if (rotated) {
        const context =
          which === 'original'
            ? secretContext.registrationAccessToken(client.clientRowId)
            : secretContext.successorRegistrationAccessToken(client.clientRowId);
        await m.query(
          `UPDATE clients SET ${columns.ciphertext} = $2${columns.fingerprint ? `, ${columns.fingerprint} = $3` : ''},
             updated_at = now() WHERE id = $1`,
          [
            client.clientRowId,
            this.cipher.encrypt(rotated, context),
            ...(columns.fingerprint ? [this.cipher.fingerprint(rotated)] : []),
          ],
        );
      }
      await record?.(m);
      await this.audit.append(m, [
        {
          actor: SYSTEM_ACTORS.worker,
          action,
          subjectType: 'client',
          subjectId: client.clientRowId,
          after: {
            ...after,
            clientId: client.clientId,
            registration: which,
            registrationAccessTokenRotated: rotated !== null,
          },
        },
      ]);
    });
  }

  private async exchange(
    client: ConnectorClient,
    purpose: string,
    method: 'GET' | 'PUT' | 'DELETE',
    payload?: Record<string, unknown>,
  ): Promise<Exchange> {
    const which = client.registration ?? 'original';
    const columns = TOKEN_COLUMNS[which];
    const [row] = (await this.dataSource.query(
      `SELECT ${columns.uri} AS registration_client_uri, ${columns.ciphertext} IS NOT NULL AS has_token
       FROM clients WHERE id = $1`,
      [client.clientRowId],
    )) as { registration_client_uri: string | null; has_token: boolean }[];
    const uri = row?.registration_client_uri;
    if (!uri) throw new ConnectorError(`client ${client.clientId} has no registration_client_uri in Keyshift`, false);
    if (!row.has_token) {
      throw new ConnectorError(
        `client ${client.clientId} has no registration access token in Keyshift (never imported, or the registration was deleted)`,
        false,
      );
    }
    return this.secrets.use(
      client.clientRowId,
      which === 'original' ? 'registration_access_token' : 'successor_registration_access_token',
      purpose,
      SYSTEM_ACTORS.worker,
      (token) =>
        this.send(purpose, {
          method,
          url: uri,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
          body: payload ? JSON.stringify(payload) : undefined,
        }),
    );
  }

  private async send(purpose: string, request: Parameters<OutboundHttp['send']>[0]): Promise<Exchange> {
    let res;
    try {
      res = await this.http.send(request);
    } catch (error) {
      if (!(error instanceof OutboundError)) throw error;
      throw new ConnectorError(
        `${purpose} failed: ${error.message}`,
        error.kind === 'timeout' || error.kind === 'network',
      );
    }
    const body = parseJson(res.body);
    if (res.status >= 200 && res.status < 300)
      return { status: res.status, body: body ?? {}, latencyMs: res.latencyMs };
    throw refusal(purpose, res.status, body);
  }
}

function parseJson(body: Buffer): Record<string, unknown> | null {
  if (body.length === 0) return null;
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A non-2xx answer as a ConnectorError: 429 and 5xx are worth retrying; the rest need a person. */
function refusal(purpose: string, status: number, body: Record<string, unknown> | null): ConnectorError {
  const oauth =
    body && typeof body.error === 'string'
      ? `${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''}`
      : null;
  const why =
    status === 401 || status === 403
      ? 'the registration access token was refused (rotated or revoked outside Keyshift?)'
      : status === 404
        ? 'the registration no longer exists at the server'
        : `HTTP ${status}`;
  return new ConnectorError(`${purpose}: ${why}${oauth ? ` (${oauth})` : ''}`, status === 429 || status >= 500, status);
}

/** The change as the audit log records it: key sets by kid, never whole. */
function describe(change: RegistrationChange): Record<string, unknown> {
  const { jwks, ...rest } = change;
  return jwks ? { ...rest, jwks: { kids: jwks.keys.map((k) => k.kid) } } : rest;
}
