// Registered service clients: the back ends allowed to call introspection and revocation.
// Each has an id and the SHA-256 of a secret of 32 random bytes (`npm run clients -- new <id>` makes
// both). A plain hash is enough because the secret is random and long: there is nothing to guess,
// so a slow password hash would only slow every introspection down. Secrets are never stored.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ServiceClient {
  id: string;
  /** SHA-256 of the secret. */
  secretHash: Buffer;
}

export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;
const HASH_PATTERN = /^sha256:([A-Za-z0-9_-]{43})$/;

export class ClientListError extends Error {
  override name = 'ClientListError';
}

/** Parses `id:sha256:<base64url>` entries. Throws ClientListError naming the bad entry. */
export function parseClientEntry(entry: string): ServiceClient {
  const at = entry.indexOf(':');
  const id = entry.slice(0, at);
  const hash = HASH_PATTERN.exec(entry.slice(at + 1));
  if (at < 0 || !CLIENT_ID_PATTERN.test(id) || !hash) {
    throw new ClientListError(`service client entry ${JSON.stringify(entry.slice(0, 80))} must look like <client_id>:sha256:<43 base64url characters>`);
  }
  return { id, secretHash: Buffer.from(hash[1]!, 'base64url') };
}

export function hashClientSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('base64url')}`;
}

export function newClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

export class ServiceClients {
  private readonly byId: Map<string, ServiceClient>;
  /** Compared against when the id is unknown, so both failures cost the same. */
  private readonly decoy = createHash('sha256').update(randomBytes(32)).digest();

  constructor(clients: ServiceClient[]) {
    this.byId = new Map();
    for (const c of clients) {
      if (this.byId.has(c.id)) throw new ClientListError(`service client ${c.id} is listed twice`);
      this.byId.set(c.id, c);
    }
  }

  /** The client these credentials belong to, or null. */
  authenticate(id: string, secret: string): ServiceClient | null {
    const client = this.byId.get(id);
    const presented = createHash('sha256').update(secret, 'utf8').digest();
    const match = timingSafeEqual(presented, client?.secretHash ?? this.decoy);
    return client && match ? client : null;
  }
}
