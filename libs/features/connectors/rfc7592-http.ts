import { Injectable } from '@nestjs/common';
import { jsonObject, OutboundError, OutboundHttp } from '@keyshift/outbound';
import { ConnectorError } from './server-connector';

export interface Exchange {
  status: number;
  body: Record<string, unknown>;
  /** Time spent waiting on the server (recorded with the change: it is what a migration costs the server). */
  latencyMs: number;
}

export type Rfc7592Method = 'GET' | 'PUT' | 'DELETE';

/**
 * The HTTP side of RFC 7591/7592: requests with a registration access token, answers parsed,
 * refusals turned into ConnectorErrors that say whether a retry can help. Tokens never reach an
 * error message.
 */
@Injectable()
export class Rfc7592Http {
  constructor(private readonly http: OutboundHttp) {}

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
    const body = jsonObject(res.body);
    if (res.status >= 200 && res.status < 300)
      return { status: res.status, body: body ?? {}, latencyMs: res.latencyMs };
    throw refusal(purpose, res.status, body);
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
