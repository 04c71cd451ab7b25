import { jsonObject, retryAfterSeconds } from '@keyshift/outbound';
import { ProbeOutcome } from './probe.entity';

export interface ClassifiedResponse {
  outcome: ProbeOutcome;
  errorCode: string | null;
  tokenType: string | null;
  retryAfterSeconds: number | null;
  detail: string | null;
  /** RFC 9449 §8: the server wants this nonce in the DPoP proof. */
  dpopNonce: string | null;
}

const MAX_DETAIL = 300;

// Shared with the admin APIs; re-exported for the probes' own callers.
export { retryAfterSeconds };

function header(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
}

/**
 * Classifies a token endpoint's answer (RFC 6749 §5.1/§5.2). The access token itself is looked at
 * only to confirm it is there; it is never returned or stored.
 */
export function classifyTokenResponse(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  now: Date,
): ClassifiedResponse {
  const json = jsonObject(body);
  const base: ClassifiedResponse = {
    outcome: ProbeOutcome.InvalidResponse,
    errorCode: null,
    tokenType: null,
    retryAfterSeconds: null,
    detail: null,
    dpopNonce: header(headers, 'dpop-nonce'),
  };
  if (status === 429)
    return {
      ...base,
      outcome: ProbeOutcome.RateLimited,
      retryAfterSeconds: retryAfterSeconds(headers['retry-after'], now),
      detail: 'HTTP 429',
    };
  if (status >= 500)
    return {
      ...base,
      outcome: ProbeOutcome.ServerError,
      retryAfterSeconds: retryAfterSeconds(headers['retry-after'], now),
      detail: `HTTP ${status}`,
    };
  if (status === 200) {
    if (!json) return { ...base, detail: 'HTTP 200 without a JSON body' };
    if (typeof json.access_token !== 'string' || typeof json.token_type !== 'string') {
      return { ...base, detail: 'HTTP 200 without access_token and token_type' };
    }
    return { ...base, outcome: ProbeOutcome.Ok, tokenType: json.token_type };
  }
  if ((status === 400 || status === 401) && json && typeof json.error === 'string') {
    const description = typeof json.error_description === 'string' ? json.error_description.slice(0, MAX_DETAIL) : null;
    return { ...base, outcome: ProbeOutcome.Rejected, errorCode: json.error, detail: description };
  }
  return { ...base, detail: `HTTP ${status}${json ? '' : ' without a JSON error body'}` };
}
