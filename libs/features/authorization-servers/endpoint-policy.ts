import { isUnstorableText } from '@keyshift/common';
import { effectivePort, formatHostPort, HostPort, parseHostPort } from '@keyshift/config';
import { normalizeHost, urlProblem } from '@keyshift/outbound';

/**
 * Where an authorization server's endpoints may be. Keyshift sends client secrets, assertions and
 * registration access tokens to the URLs a server's metadata names, so a document must not be able
 * to send them elsewhere: every endpoint is an absolute https URL (http only when the issuer itself
 * is an allowlisted http issuer, as in tests), without credentials or fragment, on the issuer's
 * host (same hostname and port) or on one of the hosts the operator said the server also uses
 * (`trustedHosts`: Okta and Entra ID serve mTLS aliases from other hosts).
 */
export interface EndpointScope {
  issuer: URL;
  trustedHosts: readonly HostPort[];
  /** KEYSHIFT_OUTBOUND_ALLOWLIST, to refuse address literals Keyshift would never connect to. */
  allowlist?: readonly HostPort[];
}

const MAX_URL_LENGTH = 2048;

/** The scope of a stored server: its issuer and its (already validated) trusted hosts. */
export function endpointScope(
  server: { issuer: string; trustedHosts: readonly string[] },
  allowlist?: readonly HostPort[],
): EndpointScope {
  return { issuer: new URL(server.issuer), trustedHosts: parseTrustedHosts(server.trustedHosts ?? []), allowlist };
}

/** Stored entries were validated on the way in (`trustedHostsProblem`); anything else is skipped. */
function parseTrustedHosts(entries: readonly string[]): HostPort[] {
  return entries.flatMap((e) => {
    const parsed = parseHostPort(e, { wildcard: false });
    return 'problem' in parsed ? [] : [parsed];
  });
}

/** Why `trustedHosts` input is not acceptable, naming the entry by position; null when it is. */
export function trustedHostsProblem(entries: readonly string[]): { field: string; message: string } | null {
  for (const [i, entry] of entries.entries()) {
    const parsed = parseHostPort(entry, { wildcard: false });
    if ('problem' in parsed) return { field: `trustedHosts[${i}]`, message: parsed.problem };
  }
  return null;
}

/** The stored, normalised form of trusted hosts (lower case, punycode, no duplicates). */
export function normalizeTrustedHosts(entries: readonly string[]): string[] {
  return [...new Set(parseTrustedHosts(entries).map(formatHostPort))];
}

/** Hosts are short in practice; a hostile document's are cut so a reason never grows with it. */
function shown(host: string): string {
  return host.length > 100 ? `${host.slice(0, 100)}...` : host;
}

function sameHost(url: URL, host: string, port: number): boolean {
  return normalizeHost(url.hostname) === host && effectivePort(url) === port;
}

/** Whether `url` is on the issuer's host or a trusted host (a trusted host without port: the scheme's default). */
export function isOnServerHost(url: URL, scope: EndpointScope): boolean {
  if (sameHost(url, normalizeHost(scope.issuer.hostname), effectivePort(scope.issuer))) return true;
  return scope.trustedHosts.some((t) =>
    sameHost(url, t.host, typeof t.port === 'number' ? t.port : url.protocol === 'http:' ? 80 : 443),
  );
}

/**
 * Why `value` may not be used as the endpoint `field` (a metadata name such as `token_endpoint`),
 * or null. The reason names the field and the rule, never the value (a discovery reason may name the
 * host, cut short, so an operator knows what to trust; API input errors do not).
 */
export function endpointProblem(
  field: string,
  value: unknown,
  scope: EndpointScope,
  options: { showHost: boolean } = { showHost: true },
): string | null {
  if (typeof value !== 'string') return `${field} is not a string`;
  if (value.length > MAX_URL_LENGTH) return `${field} is longer than ${MAX_URL_LENGTH} characters`;
  if (isUnstorableText(value)) return `${field} contains NUL characters or unpaired UTF-16 surrogates`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${field} is not an absolute URL`;
  }
  const httpAllowed = scope.issuer.protocol === 'http:';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && httpAllowed)) {
    return `${field} must use https`;
  }
  if (url.username || url.password) return `${field} must not carry credentials`;
  if (value.includes('#')) return `${field} must not have a fragment`;
  if (!isOnServerHost(url, scope)) {
    const where = options.showHost ? `is on ${shown(url.host)}, which is` : 'is';
    return `${field} ${where} neither on the issuer's host (${scope.issuer.host}) nor on one of the server's trustedHosts`;
  }
  if (scope.allowlist && urlProblem(url, scope.allowlist)) {
    return `${field} is on an address Keyshift may not reach (not publicly routable, or http, and not in KEYSHIFT_OUTBOUND_ALLOWLIST)`;
  }
  return null;
}
