import { Injectable } from '@nestjs/common';
import { OutboundError, OutboundHttp, retryAfterSeconds } from '@keyshift/outbound';
import { AdminAccess, ConnectorError } from './server-connector';

export interface AdminAnswer {
  status: number;
  /** The parsed JSON body (object or array), or null for an empty or non-JSON one. */
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  latencyMs: number;
}

export type AdminMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What an admin API may answer that the caller handles itself rather than as a failure (a 404 on lookup). */
export interface AdminCallOptions {
  accept?: readonly number[];
}

/**
 * JSON requests to a vendor admin API through the outbound guard (https, address rules, deadlines,
 * size caps apply to admin APIs as to token endpoints), with the header AdminSessions keeps. A 401
 * drops the cached admin token and tries once more with a fresh one (an admin token may expire or
 * be revoked between calls). Failures become ConnectorErrors: 429 (with its Retry-After) and 5xx
 * are worth retrying, the rest need a person. Messages name the purpose, the status and the
 * vendor's own error words, never a header or a request body.
 *
 * Plain requests rather than the vendors' SDKs: @keycloak/keycloak-admin-client and its peers
 * bring their own HTTP stacks, which would bypass the guard.
 */
@Injectable()
export class AdminHttp {
  constructor(private readonly http: OutboundHttp) {}

  async call(
    admin: AdminAccess | null,
    purpose: string,
    method: AdminMethod,
    url: string,
    payload?: unknown,
    options: AdminCallOptions = {},
  ): Promise<AdminAnswer> {
    if (!admin)
      throw new ConnectorError(`${purpose}: the server has no admin API configured (connector.adminUrl)`, false);
    let answer = await this.once(admin, purpose, method, url, payload);
    if (answer.status === 401 && admin.renewable) {
      admin.refused();
      answer = await this.once(admin, purpose, method, url, payload);
    }
    // A 429 holds every call to this server for its Retry-After, then tries again, a few times.
    for (let retry = 0; answer.status === 429 && retry < RATE_LIMIT_RETRIES; retry++) {
      const ms = holdOffMs(answer.headers);
      if (ms === null || ms > MAX_HOLD_MS) break;
      admin.holdOff(ms);
      answer = await this.once(admin, purpose, method, url, payload);
    }
    if ((answer.status >= 200 && answer.status < 300) || options.accept?.includes(answer.status)) return answer;
    throw refusal(purpose, answer);
  }

  private async once(
    admin: AdminAccess,
    purpose: string,
    method: AdminMethod,
    url: string,
    payload: unknown,
  ): Promise<AdminAnswer> {
    await admin.spend();
    const authorization = await admin.authorization();
    let res;
    try {
      res = await this.http.send({
        method,
        url,
        headers: {
          accept: 'application/json',
          ...(authorization ? { authorization } : {}),
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: payload !== undefined ? JSON.stringify(payload) : undefined,
      });
    } catch (error) {
      if (!(error instanceof OutboundError)) throw error;
      throw new ConnectorError(
        `${purpose} failed: ${error.message}`,
        error.kind === 'timeout' || error.kind === 'network',
      );
    }
    // Okta says when its bucket is empty before it refuses: wait for the reset rather than earn a 429.
    if (res.headers['x-rate-limit-remaining'] === '0') {
      const ms = holdOffMs({ 'x-rate-limit-reset': res.headers['x-rate-limit-reset'] });
      if (ms !== null && ms <= MAX_HOLD_MS) admin.holdOff(ms);
    }
    return { status: res.status, body: parsed(res.body), headers: res.headers, latencyMs: res.latencyMs };
  }
}

/** How often a 429 is waited out before the call fails as transient (the phase then retries later). */
const RATE_LIMIT_RETRIES = 3;
/** The longest Retry-After waited out in the call; longer ones fail the call as transient at once. */
const MAX_HOLD_MS = 30_000;

/** How long a server asked Keyshift to wait: Retry-After, else Okta's X-Rate-Limit-Reset (epoch seconds). */
export function holdOffMs(headers: Record<string, string | string[] | undefined>, now = Date.now()): number | null {
  const retryAfter = retryAfterSeconds(headers['retry-after'], new Date(now));
  if (retryAfter !== null) return retryAfter * 1000;
  const reset = Array.isArray(headers['x-rate-limit-reset'])
    ? headers['x-rate-limit-reset'][0]
    : headers['x-rate-limit-reset'];
  return reset && /^\d+$/.test(reset) ? Math.max(0, Number(reset) * 1000 - now) : null;
}

/** A query parameter of a `Link: <…>; rel="next"` header (`page_token` for Hydra, `after` for Okta). */
export function nextPageToken(link: string | string[] | undefined, parameter = 'page_token'): string | null {
  const header = Array.isArray(link) ? link.join(',') : (link ?? '');
  for (const part of header.split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (match) return new URL(match[1], 'http://hydra.invalid').searchParams.get(parameter);
  }
  return null;
}

/**
 * The path of a URL under the admin API's base, each segment encoded. A `.` or `..` segment
 * (encodeURIComponent leaves them as they are) would name another resource: refused.
 */
export function adminUrl(base: string, ...segments: string[]): string {
  if (segments.some((s) => s === '.' || s === '..' || s === '')) {
    throw new ConnectorError('a client id that is empty, "." or ".." cannot be addressed at the admin API', false);
  }
  return `${base.replace(/\/+$/, '')}/${segments.map(encodeURIComponent).join('/')}`;
}

function parsed(body: Buffer): unknown {
  if (body.length === 0) return null;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return null;
  }
}

/** The vendor's own short error words (Keycloak `errorMessage`, OAuth `error`), capped. */
function vendorWords(body: unknown): string | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const b = body as Record<string, unknown>;
  for (const field of ['errorMessage', 'error_description', 'error', 'message', 'errorSummary']) {
    if (typeof b[field] === 'string' && b[field]) return (b[field] as string).slice(0, 200);
  }
  return null;
}

function refusal(purpose: string, answer: AdminAnswer): ConnectorError {
  const status = answer.status;
  const retryAfter = answer.headers['retry-after'];
  const words = vendorWords(answer.body);
  const why =
    status === 401
      ? 'the admin credential was refused'
      : status === 403
        ? 'the admin credential lacks the permission (see the README for the roles each connector needs)'
        : status === 404
          ? 'not found at the server'
          : status === 429
            ? `rate limited${typeof retryAfter === 'string' ? ` (Retry-After ${retryAfter.slice(0, 40)})` : ''}`
            : `HTTP ${status}`;
  return new ConnectorError(`${purpose}: ${why}${words ? ` (${words})` : ''}`, status === 429 || status >= 500, status);
}
