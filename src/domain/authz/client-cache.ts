// A short-lived, bounded per-instance copy of the OAuth clients client authentication read, so the token
// endpoint's success path is the grant's one statement and nothing else. It is safe because no one trusts the
// copy alone: the grant's statement re-checks, in the same SQL, that the client still exists, is enabled and is
// at the version the copy was read at (oauth_clients.version, bumped by every change: secret,
// keys, metadata, disable). When it is not, the request is refused by the statement, the entry is dropped and
// the request is answered again from a fresh read (src/http/client-auth.ts). So a change made on any instance
// counts on every instance at its next request; the TTL only bounds how long an unused entry is kept.
// Only clients found and enabled are kept; an unknown id is read every time.
import type { Clock } from '../clock.js';
import type { OAuthClient } from '../oauth/clients.js';
import { ExpiringMap } from '../expiring-map.js';

/** How long an entry is used before it is read again, and how many clients one instance keeps. */
const CLIENT_CACHE_TTL_MS = 30_000;
const CLIENT_CACHE_MAX = 1000;

export class ClientCache {
  private readonly entries: ExpiringMap<OAuthClient>;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = CLIENT_CACHE_TTL_MS,
    max = CLIENT_CACHE_MAX,
  ) {
    this.entries = new ExpiringMap(max);
  }

  /** The kept copy of a client, if it is younger than the TTL. */
  get(id: string): OAuthClient | undefined {
    return this.entries.get(id, this.clock.now().getTime());
  }

  /** Keeps a client just read; the oldest entry goes when the cache is full. */
  set(client: OAuthClient): void {
    this.entries.set(client.id, client, this.clock.now().getTime() + this.ttlMs);
  }

  forget(id: string): void {
    this.entries.delete(id);
  }
}
