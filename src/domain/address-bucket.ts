// What a per-address limit counts: an IPv4 client by its address, an IPv6 client by its /64.
//
// An IPv6 subscriber (a home line, a phone, a cloud VM) is routinely given a whole /64 (RFC 6177, RFC 7934 §6)
// and may use any address in it. Counted per full address, one attacker rotates through 2^64 addresses and never
// meets a per-address limit: the login guesses, the rate limits, the user-code guesses and the document fetches
// would all count one request per "address". Every limit keyed by address takes its key from here; audit rows,
// logs and the pages that show "requested from" keep the full address.
import { isIP } from 'node:net';

/** The first four 16-bit groups of an IPv6 address, or null when `address` is not IPv6 text. */
function prefix64(address: string): string | null {
  const [head = '', tail] = address.split('::');
  // A dotted IPv4 tail (64:ff9b::192.0.2.1) stands for two groups.
  const groups = (part: string | undefined) =>
    part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : [];
  const left = groups(head);
  const right = groups(tail);
  const zeros = Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  const full = tail === undefined ? left : [...left, ...zeros, ...right];
  if (full.length !== 8) return null;
  return full
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':');
}

/** The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d) carries; null for any other. */
function mappedIPv4(address: string): string | null {
  const match = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return match?.[1] ?? null;
}

/**
 * The key a per-address limit counts `ip` under: IPv4 as is (an IPv4-mapped IPv6 address as its IPv4), IPv6 as
 * its /64 written `2001:db8:0:1::/64`, anything else (an empty or unknown address) unchanged.
 */
export function addressBucket(ip: string): string {
  const address = ip.split('%')[0] ?? ip; // a zone index (fe80::1%eth0) names an interface, not a host
  if (isIP(address) !== 6) return ip;
  const v4 = mappedIPv4(address);
  if (v4) return v4;
  const network = prefix64(address);
  return network ? `${network}::/64` : ip;
}
