// Where a webhook may be delivered (SSRF). An endpoint URL is admin input, but the host it names resolves at
// delivery time, and a name that pointed at a public address yesterday can point at 127.0.0.1 or the cloud
// metadata service today. So the check is made on the resolved addresses, at every delivery, and the
// connection is then pinned to the address that was checked (no second lookup an attacker could answer
// differently). The ranges refused (src/domain/public-addresses.ts, shared with client metadata documents)
// are refused unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES is set.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DomainError } from '../domain-error.js';
import { isPublicAddress } from '../public-addresses.js';

/** Whether an IP literal is one webhooks refuse by default (src/domain/public-addresses.ts decides). */
export function isPrivateAddress(address: string): boolean {
  return !isPublicAddress(address);
}

export interface UrlRules {
  allowHttp: boolean;
  allowPrivateAddresses: boolean;
}

/** Checks an endpoint URL's shape when an admin saves it (addresses are checked again at each delivery). */
export function checkEndpointUrl(raw: string, rules: UrlRules): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DomainError('webhook_url_invalid', { detail: 'not a URL' });
  }
  const schemeOk = url.protocol === 'https:' || (url.protocol === 'http:' && rules.allowHttp);
  if (!schemeOk || url.username || url.password || url.hash || raw.length > 2048)
    throw new DomainError('webhook_url_invalid', { detail: 'scheme, credentials, fragment or length' });
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !rules.allowPrivateAddresses && isPrivateAddress(host))
    throw new DomainError('webhook_url_invalid', { detail: 'private address' });
  return url;
}

/** A delivery that may not go where it was pointed: not retried differently from a receiver that is down. */
export class AddressRefused extends Error {
  override name = 'AddressRefused';
}

/**
 * Resolves the URL's host and returns the one address to connect to: the first the resolver gives, after
 * every address it gives is checked (a name with one private address among public ones is refused).
 */
export async function pinAddress(url: URL, allowPrivate: boolean): Promise<{ address: string; family: 4 | 6 }> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const family = isIP(host);
  const addresses =
    family !== 0
      ? [{ address: host, family }]
      : await lookup(host, { all: true, verbatim: true }).catch(() => {
          throw new AddressRefused('the host name does not resolve');
        });
  if (addresses.length === 0) throw new AddressRefused('the host name does not resolve');
  if (!allowPrivate && addresses.some((a) => isPrivateAddress(a.address)))
    throw new AddressRefused('the host resolves to a private, loopback or link-local address');
  const first = addresses[0]!;
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}
