// A DNS server on a loopback UDP port for the metadata-document fetch (src/domain/oauth/client-document-fetch.ts
// resolves with a dns.Resolver pointed here through FetchOptions.dnsServers): it answers A and AAAA queries
// from a table a test fills, NXDOMAIN for any other name, and never answers the names a test makes silent, and
// counts the queries per name. The system's resolver (dns.lookup, /etc/hosts) never reaches it, so a name it
// answers resolving at all proves the fetch asked c-ares.
import { createSocket } from 'node:dgram';
import { isIP, type AddressInfo } from 'node:net';
import type { Test } from 'tap';

export interface DnsServer {
  /** 127.0.0.1:<port>, for Resolver.setServers. */
  address: string;
  /** Answers `name` with these addresses (IPv4 as A, IPv6 as AAAA). */
  set(name: string, addresses: string[]): void;
  /** Never answers queries for `name`. */
  silence(name: string): void;
  /** Queries received per name (A and AAAA each count). */
  queries: Map<string, number>;
}

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = offset;
  while (msg[at]! > 0) {
    labels.push(msg.subarray(at + 1, at + 1 + msg[at]!).toString('ascii'));
    at += msg[at]! + 1;
  }
  return { name: labels.join('.').toLowerCase(), end: at + 1 };
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail = ''] = address.split('::');
  const parts = (s: string) => (s ? s.split(':') : []);
  const h = parts(head!);
  const tl = parts(tail);
  const groups = address.includes('::') ? [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl] : h;
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}

export async function startDnsServer(t: Test): Promise<DnsServer> {
  const table = new Map<string, string[]>();
  const silent = new Set<string>();
  const queries = new Map<string, number>();
  const socket = createSocket('udp4');
  socket.on('message', (msg, from) => {
    const { name, end } = readName(msg, 12);
    const type = msg.readUInt16BE(end);
    queries.set(name, (queries.get(name) ?? 0) + 1);
    if (silent.has(name)) return;
    const known = table.get(name);
    const family = type === 1 ? 4 : type === 28 ? 6 : 0;
    const answers = (known ?? []).filter((a) => isIP(a) === family);
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // the query's id
    header.writeUInt16BE(known ? 0x8180 : 0x8183, 2); // a response, recursion available; NXDOMAIN if unknown
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const records = answers.map((a) => {
      const data = family === 4 ? Buffer.from(a.split('.').map(Number)) : ipv6Bytes(a);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      rr.writeUInt16BE(type, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(data.length, 10);
      return Buffer.concat([rr, data]);
    });
    socket.send(Buffer.concat([header, msg.subarray(12, end + 4), ...records]), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return {
    address: `127.0.0.1:${(socket.address() as AddressInfo).port}`,
    set: (name, addresses) => table.set(name.toLowerCase(), addresses),
    silence: (name) => silent.add(name.toLowerCase()),
    queries,
  };
}
