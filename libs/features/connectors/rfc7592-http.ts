import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { OutboundError, OutboundHttp } from '@keyshift/outbound';
import { DataSource } from 'typeorm';
import { SYSTEM_ACTORS } from '../api-tokens/principal';
import { ClientSecrets } from '../clients/client-secrets.service';
import { ConnectorClient, ConnectorError } from './server-connector';
import { TOKEN_COLUMNS } from './registration-tokens';

export interface Exchange {
  status: number;
  body: Record<string, unknown>;
  /** Time spent waiting on the server (recorded with the change: it is what a migration costs the server). */
  latencyMs: number;
}

export type Rfc7592Method = 'GET' | 'PUT' | 'DELETE';

/**
 * The HTTP side of RFC 7591/7592: requests with the token Keyshift holds for a registration (opened
 * through ClientSecrets, so audited) or with a given one (recovery), answers parsed, refusals turned
 * into ConnectorErrors that say whether a retry can help. Tokens never reach an error message.
 */
@Injectable()
export class Rfc7592Http {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly http: OutboundHttp,
    private readonly secrets: ClientSecrets,
  ) {}

  /** A request with the registration access token Keyshift holds for the registration. */
  async withStoredToken(
    client: ConnectorClient,
    purpose: string,
    method: Rfc7592Method,
    payload?: Record<string, unknown>,
  ): Promise<Exchange> {
    const columns = TOKEN_COLUMNS[client.registration ?? 'original'];
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
    return this.secrets.use(client.clientRowId, columns.sealedField, purpose, SYSTEM_ACTORS.worker, (token) =>
      this.withToken(uri, token, purpose, method, payload),
    );
  }

  /** A request to a registration's URI with the given token. */
  withToken(
    uri: string,
    token: string,
    purpose: string,
    method: Rfc7592Method,
    payload?: Record<string, unknown>,
  ): Promise<Exchange> {
    return this.send(purpose, {
      method,
      url: uri,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(payload ? { 'content-type': 'application/json' } : {}),
      },
      body: payload ? JSON.stringify(payload) : undefined,
    });
  }

  async send(purpose: string, request: Parameters<OutboundHttp['send']>[0]): Promise<Exchange> {
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
