import { FieldProblem } from '@keyshift/common';

/**
 * Checks an issuer identifier (RFC 8414 §2): an absolute https URL with no query or fragment.
 * Plain http is accepted only for hosts in the outbound allowlist (tests and the demo use
 * 127.0.0.1); the address-level outbound checks happen when Keyshift actually connects.
 */
export function issuerProblem(issuer: string, allowlist: readonly string[]): FieldProblem | null {
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
  const allowlisted = allowlist.includes(url.hostname.toLowerCase().replace(/^\[|\]$/g, ''));
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowlisted)) {
    return { field: 'issuer', message: 'must use https (http only for hosts in KEYSHIFT_OUTBOUND_ALLOWLIST)' };
  }
  return null;
}
