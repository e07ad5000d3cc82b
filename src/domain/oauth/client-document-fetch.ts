// The one outbound fetch anyone (not only an admin) can make Tessera do: GET of a client_id URL (a Client ID
// Metadata Document). Every guard is here, so none can be forgotten by a caller
// (draft-ietf-oauth-client-id-metadata-document §6, OWASP SSRF): https only; the host is resolved once, every
// address it resolves to must be public (src/domain/public-addresses.ts, the list webhooks use too), and the
// connection goes to the address that was checked, so a DNS answer that changes between check and connect
// (rebinding) can't steer it; no redirect is followed; 5 s for the whole exchange; at most 5 KiB;
// application/json only.
// The host is resolved by a dns.Resolver (c-ares, asynchronous on the event loop) with its own timeout, not
// dns.lookup: lookup runs getaddrinfo on libuv's thread pool, which argon2 hashes passwords on, so a slow
// DNS server named by anyone's client_id could stall sign-ins (and a burst of sign-ins stall the fetch).
// Tests allow loopback (their fixture listens there) and trust their own CA through FetchOptions, which
// only code can set: no environment variable turns a guard off.
import { Resolver } from 'node:dns/promises';
import { request } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPublicAddress } from '../public-addresses.js';

const FETCH_TIMEOUT_MS = 5000;
/** Per DNS query attempt; two attempts, A and AAAA asked at once. */
const DNS_TIMEOUT_MS = 1500;
const MAX_DOCUMENT_BYTES = 5 * 1024;

/** Why a document could not be fetched: a log detail, never shown to the user as is. */
export class DocumentFetchRefused extends Error {
  override name = 'DocumentFetchRefused';
}

export interface FetchedDocument {
  body: unknown;
  cacheControl: string | undefined;
}

export interface FetchOptions {
  /** Test only: accept 127.0.0.0/8 and ::1 (a local fixture). Never set from configuration. */
  allowLoopback?: boolean;
  /** Test only: trust this CA (PEM) instead of the system's. */
  ca?: string;
  /** Test only: a shorter limit than FETCH_TIMEOUT_MS, so a test of a slow server is quick. */
  timeoutMs?: number;
  /** Test only: ask these DNS servers (a local fixture) instead of the system's. */
  dnsServers?: string[];
  /** Test only: a shorter per-query DNS timeout than DNS_TIMEOUT_MS. */
  dnsTimeoutMs?: number;
}

const isLoopback = (address: string, family: number) =>
  family === 4 ? address.startsWith('127.') : address === '::1' || address === '0:0:0:0:0:0:0:1';

/** Whether Tessera may connect to this address. */
export function addressAllowed(address: string, opts: FetchOptions = {}): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (opts.allowLoopback && isLoopback(address, family)) return true;
  return isPublicAddress(address);
}

/** Every address `hostname` has (A and AAAA, asked at once), by c-ares; a name without any is an error. */
async function resolveAll(resolver: Resolver, hostname: string): Promise<{ address: string; family: 4 | 6 }[]> {
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
  const addresses = [
    ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
    ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
  ];
  if (addresses.length > 0) return addresses;
  const failed = [v4, v6].find((r) => r.status === 'rejected');
  throw new DocumentFetchRefused(
    `${hostname} did not resolve (${(failed?.reason as NodeJS.ErrnoException | undefined)?.code ?? 'no address'})`,
  );
}

/**
 * Resolves the host once and checks every address; the connection uses the first one. Node calls this in
 * place of its own resolution, so the address connected to is the address checked.
 */
function pinnedLookup(resolver: Resolver, opts: FetchOptions): LookupFunction {
  return (hostname, options, callback) => {
    resolveAll(resolver, hostname).then(
      (addresses) => {
        const bad = addresses.find((a) => !addressAllowed(a.address, opts));
        if (bad) return callback(new DocumentFetchRefused(`${hostname} resolves to a non-public address`), '', 4);
        // One address, the checked one (also when Node asks for all of them to race: nothing else to race).
        const first = addresses[0]!;
        if (options.all) callback(null, [first]);
        else callback(null, first.address, first.family);
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 4),
    );
  };
}

/** GETs the document at `url` under every guard above, or throws DocumentFetchRefused. */
export function fetchClientDocument(url: string, opts: FetchOptions = {}): Promise<FetchedDocument> {
  const target = new URL(url);
  if (target.protocol !== 'https:') return Promise.reject(new DocumentFetchRefused('not https'));
  const host = target.hostname.replace(/^\[|\]$/g, '');
  // An IP literal is connected to without a lookup: it is checked here instead.
  if (isIP(host) && !addressAllowed(host, opts))
    return Promise.reject(new DocumentFetchRefused('a non-public address'));
  // One resolver per fetch: its queries are cancelled with it when the fetch ends early.
  const resolver = new Resolver({ timeout: opts.dnsTimeoutMs ?? DNS_TIMEOUT_MS, tries: 2 });
  if (opts.dnsServers) resolver.setServers(opts.dnsServers);
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, value?: FetchedDocument) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolver.cancel();
      if (err) {
        req.destroy();
        reject(err instanceof DocumentFetchRefused ? err : new DocumentFetchRefused(err.message));
      } else resolve(value!);
    };
    const req = request(
      target,
      {
        method: 'GET',
        headers: { accept: 'application/json', 'user-agent': 'Tessera client metadata fetcher' },
        lookup: pinnedLookup(resolver, opts),
        ...(opts.ca ? { ca: opts.ca } : {}),
        // No connection reuse: each fetch resolves, checks and pins anew.
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) return finish(new DocumentFetchRefused(`status ${status} (redirects are not followed)`));
        const type = (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (type !== 'application/json')
          return finish(new DocumentFetchRefused('content type is not application/json'));
        if (Number(res.headers['content-length'] ?? 0) > MAX_DOCUMENT_BYTES)
          return finish(new DocumentFetchRefused('document too large'));
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_DOCUMENT_BYTES) return finish(new DocumentFetchRefused('document too large'));
          chunks.push(chunk);
        });
        res.on('error', (err) => finish(err));
        res.on('end', () => {
          try {
            const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            finish(null, { body, cacheControl: res.headers['cache-control'] });
          } catch {
            finish(new DocumentFetchRefused('document is not JSON'));
          }
        });
      },
    );
    const timer = setTimeout(() => finish(new DocumentFetchRefused('timed out')), opts.timeoutMs ?? FETCH_TIMEOUT_MS);
    req.on('error', (err) => finish(err));
    req.end();
  });
}
