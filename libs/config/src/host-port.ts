import { isIP } from 'node:net';

/**
 * A `host[:port]` entry, as in KEYSHIFT_OUTBOUND_ALLOWLIST and a server's `trustedHosts`.
 * `host` is normalised the way WHATWG URL normalises a hostname (lower case, punycode, IPv4
 * canonical), without IPv6 brackets, so entries compare with `URL.hostname` directly.
 * `port` is null when the entry names none (each user says what a bare host means), `'*'` for an
 * explicit any-port wildcard where the caller allows one.
 */
export interface HostPort {
  host: string;
  port: number | '*' | null;
}

/** Parses one entry, or returns why it is not one (never echoing the entry, which may be long). */
export function parseHostPort(text: string, options: { wildcard: boolean }): HostPort | { problem: string } {
  const entry = text.trim();
  if (entry.length === 0 || entry.length > 300)
    return { problem: 'must be host or host:port (at most 300 characters)' };
  // An unbracketed IPv6 literal carries no port: `::1` is a host, `[::1]:8443` a host and port.
  if (isIP(entry) === 6) return { host: entry.toLowerCase(), port: null };
  const match = /^(.+?)(?::(\d{1,5}|\*))?$/.exec(entry);
  if (!match) return { problem: 'must be host or host:port' };
  const [, hostText, portText] = match;
  if (/[/?#@\\\s]/.test(hostText) || hostText.includes('://')) {
    return { problem: 'must be host or host:port, without a scheme, path or credentials' };
  }
  let hostname: string;
  try {
    hostname = new URL(`https://${hostText}/`).hostname;
  } catch {
    return { problem: 'has a host that is not a valid hostname or IP address' };
  }
  const host = hostname.replace(/^\[|\]$/g, '');
  if (portText === undefined) return { host, port: null };
  if (portText === '*') {
    return options.wildcard ? { host, port: '*' } : { problem: 'must name an exact port, not a wildcard' };
  }
  const port = Number(portText);
  if (port < 1 || port > 65535) return { problem: 'has a port outside 1-65535' };
  return { host, port };
}

/** The port a URL reaches: its explicit port, else its scheme's default. */
export function effectivePort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'http:' ? 80 : 443;
}

/** How an entry reads back (for error messages and views). */
export function formatHostPort(entry: HostPort): string {
  const host = entry.host.includes(':') ? `[${entry.host}]` : entry.host;
  return entry.port === null ? host : `${host}:${entry.port}`;
}
