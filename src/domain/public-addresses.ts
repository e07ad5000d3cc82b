// Which IP addresses Tessera may connect to when an outside party names the host (SSRF): a client's metadata
// document (src/domain/oauth/client-document-fetch.ts) and a webhook receiver (src/domain/webhooks/
// address-guard.ts). One list for both, so a range added for one protects the other.
//
// Refused: this-network, private, shared (CGNAT), loopback, link-local (cloud metadata), IETF protocol
// assignments, documentation, 6to4 relay, benchmarking, multicast and reserved IPv4 ranges; in IPv6 the
// unspecified and loopback addresses, IPv4-compatible, NAT64 and 6to4 prefixes (they reach IPv4 hosts),
// discard, ORCHID/TEREDO, documentation, unique-local, link- and site-local and multicast. An IPv4-mapped IPv6
// address (::ffff:a.b.c.d, or ::ffff:7f00:1 as the URL parser writes it) is judged as the IPv4 address it
// carries.
import { BlockList, isIP } from 'node:net';

// Two lists: Node matches an IPv4 address against IPv6 rules too (as ::ffff:a.b.c.d), so an IPv6 rule
// covering the mapped range would otherwise catch every IPv4 address.
const blockedV4 = new BlockList();
const blockedV6 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blockedV4.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::', 96],
  // IPv4-mapped: judged as the IPv4 address above; listed too, so no spelling can slip past that decoding.
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  blockedV6.addSubnet(net, prefix, 'ipv6');

/** The IPv4 address an IPv4-mapped IPv6 address carries, in any of its spellings; null for any other. */
function mappedIPv4(address: string): string | null {
  let host: string;
  try {
    host = new URL(`http://[${address}]/`).hostname; // normalised: [::ffff:7f00:1], whatever the spelling
  } catch {
    return null;
  }
  const m = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(host);
  if (!m) return null;
  const hi = Number.parseInt(m[1]!, 16);
  const lo = Number.parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Whether `address` (an IP literal) is a public address; anything that is no IP literal is not. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 6) {
    const v4 = mappedIPv4(address);
    if (v4 !== null) return !blockedV4.check(v4, 'ipv4');
  }
  if (family === 0) return false;
  return family === 4 ? !blockedV4.check(address, 'ipv4') : !blockedV6.check(address, 'ipv6');
}
