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
  RegistrationChange,
  ServerConnector,
} from './server-connector';

interface Exchange {
  status: number;
  body: Record<string, unknown>;
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

  async update(client: ConnectorClient, change: RegistrationChange): Promise<ConnectorResult> {
    const current = await this.exchange(client, 'RFC 7592 read', 'GET');
    const updated = await this.exchange(client, 'RFC 7592 update', 'PUT', updatableMetadata(current.body, change));
    const metadata = recordableMetadata(updated.body);
    await this.record(client, 'client.registration_updated', { change: describe(change) }, updated.body);
    return { kind: 'applied', metadata };
  }

  async remove(client: ConnectorClient): Promise<ConnectorResult> {
    await this.exchange(client, 'RFC 7592 delete', 'DELETE');
    await this.dataSource.transaction(async (m) => {
      // The token died with the registration.
      await m.query(
        `UPDATE clients SET registration_access_token_ciphertext = NULL, registration_access_token_fingerprint = NULL,
           updated_at = now() WHERE id = $1`,
        [client.clientRowId],
      );
      await this.audit.append(m, [
        {
          actor: SYSTEM_ACTORS.worker,
          action: 'client.registration_deleted',
          subjectType: 'client',
          subjectId: client.clientRowId,
        },
      ]);
    });
    return { kind: 'applied', metadata: {} };
  }

  /** The audit event of a change, and the rotated token if the server issued one, in one transaction. */
  private async record(client: ConnectorClient, action: string, after: object, response: Record<string, unknown>) {
    const rotated = typeof response.registration_access_token === 'string' ? response.registration_access_token : null;
    await this.dataSource.transaction(async (m) => {
      if (rotated) {
        await m.query(
          `UPDATE clients SET registration_access_token_ciphertext = $2, registration_access_token_fingerprint = $3,
             updated_at = now() WHERE id = $1`,
          [
            client.clientRowId,
            this.cipher.encrypt(rotated, secretContext.registrationAccessToken(client.clientRowId)),
            this.cipher.fingerprint(rotated),
          ],
        );
      }
      await this.audit.append(m, [
        {
          actor: SYSTEM_ACTORS.worker,
          action,
          subjectType: 'client',
          subjectId: client.clientRowId,
          after: { ...after, registrationAccessTokenRotated: rotated !== null },
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
    const [row] = (await this.dataSource.query(
      `SELECT registration_client_uri, registration_access_token_ciphertext IS NOT NULL AS has_token
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
      'registration_access_token',
      purpose,
      SYSTEM_ACTORS.worker,
      async (token) => {
        let res;
        try {
          res = await this.http.send({
            method,
            url: uri,
            headers: {
              authorization: `Bearer ${token}`,
              accept: 'application/json',
              ...(payload ? { 'content-type': 'application/json' } : {}),
            },
            body: payload ? JSON.stringify(payload) : undefined,
          });
        } catch (error) {
          if (!(error instanceof OutboundError)) throw error;
          throw new ConnectorError(
            `${purpose} failed: ${error.message}`,
            error.kind === 'timeout' || error.kind === 'network',
          );
        }
        const body = parseJson(res.body);
        if (res.status >= 200 && res.status < 300) return { status: res.status, body: body ?? {} };
        throw refusal(purpose, res.status, body);
      },
    );
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
