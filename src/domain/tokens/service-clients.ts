// Registered service clients: the back ends allowed to call introspection and revocation.
// Each has an id and the SHA-256 of a secret of 32 random bytes (`npm run clients -- new <id>` makes
// both). A plain hash is enough because the secret is random and long: there is nothing to guess,
// so a slow password hash would only slow every introspection down. Secrets are never stored.
// Scopes, audience and private_key_jwt keys: src/domain/tokens/client-config.ts.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseClientAttributes, type ClientAttributes } from './client-config.js';

export interface ServiceClient extends ClientAttributes {
  id: string;
  /** SHA-256 of the secret; null for a client that authenticates with private_key_jwt only. */
  secretHash: Buffer | null;
}

export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;
const HASH_PATTERN = /^sha256:([A-Za-z0-9_-]{43})$/;

export class ClientListError extends Error {
  override name = 'ClientListError';
}

/** Parses `id:sha256:<base64url>[;attr=value…]` entries. Throws ClientListError naming the bad entry. */
export function parseClientEntry(entry: string): ServiceClient {
  const [head = '', ...attrs] = entry.split(';');
  const at = head.indexOf(':');
  const id = head.slice(0, at);
  const hash = HASH_PATTERN.exec(head.slice(at + 1));
  const keyOnly = head.slice(at + 1) === 'private_key_jwt';
  if (at < 0 || !CLIENT_ID_PATTERN.test(id) || (!hash && !keyOnly)) {
    throw new ClientListError(
      `service client entry ${JSON.stringify(entry.slice(0, 80))} must look like <client_id>:sha256:<43 base64url characters> or <client_id>:private_key_jwt;jwks=<file>`,
    );
  }
  let attributes: ClientAttributes;
  try {
    attributes = parseClientAttributes(attrs);
  } catch (err) {
    throw new ClientListError(`service client ${id}: ${(err as Error).message}`);
  }
  if (keyOnly && !attributes.jwks) throw new ClientListError(`service client ${id}: private_key_jwt needs jwks=<file>`);
  return { id, secretHash: hash ? Buffer.from(hash[1]!, 'base64url') : null, ...attributes };
}

export function hashClientSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('base64url')}`;
}

/**
 * A new client's id: 16 random bytes as base64url, never starting with "-". One id in 64 did, and a command line
 * reads `--client-id -x…` as a missing value followed by an option (the device-flow CLI refused such an id).
 */
export function newClientId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
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
    return client?.secretHash && match ? client : null;
  }

  /** The client with this id, whatever its authentication method (private_key_jwt checks its own proof). */
  get(id: string): ServiceClient | null {
    return this.byId.get(id) ?? null;
  }

  /** Every scope some client may be given, for the discovery document. */
  get scopes(): string[] {
    return [...new Set([...this.byId.values()].flatMap((c) => c.scopes))].sort();
  }
}
