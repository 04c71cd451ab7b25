import ipaddr from 'ipaddr.js';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses Keyshift never connects to unless the destination is allowlisted: loopback, private,
 * carrier-grade NAT, link-local (which holds the cloud metadata services), unspecified, multicast
 * and reserved ranges, in IPv4 and IPv6, and every IPv6 form that embeds an IPv4 address. node:net's
 * BlockList does the CIDR matching; ipaddr.js (already under Fastify) reads IPv6 addresses into bytes
 * so the embedded IPv4 address can be judged by the IPv4 rules.
 */
const forbiddenV4 = new BlockList();
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
  forbiddenV4.addSubnet(net, prefix, 'ipv4');
}

/** IPv6 ranges refused whatever they carry. */
const forbiddenV6 = new BlockList();
for (const [net, prefix] of [
  ['::', 96], // unspecified, loopback, and IPv4-compatible (deprecated, RFC 4291 §2.5.5.1)
  ['::ffff:0:0:0', 96], // IPv4-translated (RFC 2765 SIIT): never a destination for a host
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215): non-global by definition
  ['100::', 64], // discard-only (RFC 6666)
  ['2001::', 32], // Teredo: tunnels to an IPv4 address Keyshift cannot judge
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local, incl. fd00:ec2::254 metadata
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  forbiddenV6.addSubnet(net, prefix, 'ipv6');
}

/** IPv6 ranges that carry an IPv4 address Keyshift would in effect reach: judged by that address. */
const EMBEDDING: { prefix: [string, number]; v4At: number }[] = [
  { prefix: ['::ffff:0:0', 96], v4At: 12 }, // IPv4-mapped
  { prefix: ['64:ff9b::', 96], v4At: 12 }, // NAT64 well-known prefix (RFC 6052), as DNS64 synthesises
  { prefix: ['2002::', 16], v4At: 2 }, // 6to4 (RFC 3056)
];
const embedding = EMBEDDING.map(({ prefix: [net, bits], v4At }) => {
  const list = new BlockList();
  list.addSubnet(net, bits, 'ipv6');
  return { list, v4At };
});

/** 100.100.100.200 (Alibaba) is a metadata service outside the private ranges. */
const METADATA = new Set(['100.100.100.200']);

function isForbiddenV4(ip: string): boolean {
  return METADATA.has(ip) || forbiddenV4.check(ip, 'ipv4');
}

export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true; // not an address at all: refuse rather than guess
  if (family === 4) return isForbiddenV4(address);
  if (forbiddenV6.check(address, 'ipv6')) return true;
  for (const { list, v4At } of embedding) {
    if (list.check(address, 'ipv6')) {
      const bytes = ipaddr.IPv6.parse(address.replace(/%.*$/, '')).toByteArray();
      return isForbiddenV4(bytes.slice(v4At, v4At + 4).join('.'));
    }
  }
  return false;
}

/** Hostnames compare case-insensitively and without IPv6 brackets. */
export function normalizeHost(hostname: string): string {
  return hostname.toLowerCase().replace(/^\[|\]$/g, '');
}
