import { FieldProblem } from '@keyshift/common';
import { HostPort } from '@keyshift/config';
import { destinationOf, isAllowlisted, isForbiddenAddress, normalizeHost } from '@keyshift/outbound';
import { isIP } from 'node:net';

/**
 * Checks an issuer identifier (RFC 8414 §2): an absolute https URL with no query or fragment.
 * Plain http is accepted only for a host:port in the outbound allowlist (tests and the demo use
 * 127.0.0.1); the address-level outbound checks happen when Keyshift actually connects.
 */
export function issuerProblem(issuer: string, allowlist: readonly HostPort[]): FieldProblem | null {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return { field: 'issuer', message: 'must be an absolute URL' };
  }
  if (url.search || url.hash || issuer.includes('#') || issuer.includes('?')) {
    return { field: 'issuer', message: 'must not have a query or fragment (RFC 8414)' };
  }
  if (url.username || url.password) return { field: 'issuer', message: 'must not carry credentials' };
  const allowlisted = isAllowlisted(allowlist, destinationOf(url));
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowlisted)) {
    return { field: 'issuer', message: 'must use https (http only for a host:port in KEYSHIFT_OUTBOUND_ALLOWLIST)' };
  }
  // Refused now rather than at every discovery attempt: Keyshift would never be allowed to connect.
  const host = normalizeHost(url.hostname);
  if (!allowlisted && isIP(host) && isForbiddenAddress(host)) {
    return {
      field: 'issuer',
      message: 'is a loopback, private or link-local address whose host:port is not in KEYSHIFT_OUTBOUND_ALLOWLIST',
    };
  }
  return null;
}
