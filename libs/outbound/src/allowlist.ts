import { effectivePort, HostPort } from '@keyshift/config';
import { normalizeHost } from './address-policy';

/** Where a connection goes: what an allowlist entry is matched against. */
export interface Destination {
  /** `http:` or `https:` */
  protocol: string;
  hostname: string;
  port: number;
}

/**
 * Whether KEYSHIFT_OUTBOUND_ALLOWLIST lets Keyshift reach this destination over plain http or on
 * a loopback/private address. Entries are host:port, so allowing an authorization server on
 * 127.0.0.1:4000 does not open Redis or PostgreSQL on the same host. A bare host means https on
 * 443 only; `host:*` (tests and demos) any port.
 */
export function isAllowlisted(allowlist: readonly HostPort[], to: Destination): boolean {
  const host = normalizeHost(to.hostname);
  return allowlist.some((entry) => {
    if (entry.host !== host) return false;
    if (entry.port === '*') return true;
    if (entry.port === null) return to.protocol === 'https:' && to.port === 443;
    return entry.port === to.port;
  });
}

/** The destination a URL names (its explicit port, else its scheme's default). */
export function destinationOf(url: URL): Destination {
  return { protocol: url.protocol, hostname: url.hostname, port: effectivePort(url) };
}
