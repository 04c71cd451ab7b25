import { BlockList, isIP } from 'node:net';

/**
 * Addresses Keyshift never connects to unless the host is allowlisted: loopback, private,
 * carrier-grade NAT, link-local (which holds the cloud metadata services), unspecified, multicast
 * and reserved ranges, in IPv4 and IPv6 (IPv4-mapped IPv6 is unwrapped first). node:net's
 * BlockList does the CIDR matching; no library needed.
 */
const forbidden = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, incl. 169.254.169.254 metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  forbidden.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local, incl. fd00:ec2::254 metadata
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  forbidden.addSubnet(net, prefix, 'ipv6');
}

/** 100.100.100.200 (Alibaba) is a metadata service outside the private ranges. */
const METADATA = new Set(['100.100.100.200']);

export function isForbiddenAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const ip = mapped ? mapped[1] : address;
  const family = isIP(ip);
  if (family === 0) return true; // not an address at all: refuse rather than guess
  return METADATA.has(ip) || forbidden.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** Hostnames compare case-insensitively and without IPv6 brackets. */
export function normalizeHost(hostname: string): string {
  return hostname.toLowerCase().replace(/^\[|\]$/g, '');
}
