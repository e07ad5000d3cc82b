// "Which client is calling?": the one step before every OAuth endpoint a client calls (the token endpoint,
// introspection, revocation), whatever the method (RFC 6749 §2.3, OIDC Core §9):
//   client_secret_basic / client_secret_post  a service client's secret (service-clients.ts)
//   private_key_jwt                           a signed, single-use assertion (client-assertions.ts)
//   none                                      a public client that only names itself (a browser or native
//                                             app, which proves the authorization with PKCE instead);
//                                             offered only when a lookup of public clients is given
// Service clients (SERVICE_CLIENTS) are looked up first; then, when given, the OAuth clients registered in
// the database (src/domain/oauth/clients.ts), each held to the one method it registered (a secret client
// may send its secret either way: both are the same proof).
// At the token endpoint, a secret or public OAuth client may come from a short-lived per-instance copy
// (client-cache.ts) whose version the grant's statement re-checks; everywhere else, and for private_key_jwt
// (whose proof costs statements of its own and whose keys must count at once), the client is read fresh.
// The HTTP layer (src/http/client-auth.ts) reads what was presented; this decides. Every failure is
// invalid_client with a log-only detail, so a caller learns nothing about which part was wrong.
import { createHash, timingSafeEqual } from 'node:crypto';
import { decodeJwt } from 'jose';
import { DomainError } from '../domain-error.js';
import type { ServiceClient, ServiceClients } from '../tokens/service-clients.js';
import type { OAuthClient } from '../oauth/clients.js';
import { ASSERTION_TYPE, AssertionRefused, type ClientAssertions } from './client-assertions.js';
import type { ClientCache } from './client-cache.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

/** What a request presented to say which client it is. */
export type PresentedClient =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; secret: string }
  | { method: 'private_key_jwt'; clientId: string | undefined; assertionType: unknown; assertion: unknown }
  | { method: 'none'; clientId: string };

/** The client a request comes from, once its method checked out. */
export type AuthenticatedClient =
  | { kind: 'confidential'; id: string; method: ClientAuthMethod; client: ServiceClient }
  | { kind: 'public'; id: string; method: 'none' }
  /**
   * An OAuth client from the database (the authorization_code and refresh_token grants); method none: public.
   * `cached`: taken from the per-instance copy, so the grant's statement must find it at `client.version`.
   */
  | { kind: 'oauth'; id: string; method: ClientAuthMethod; client: OAuthClient; cached?: boolean };

/**
 * Whether a request may use the per-instance copy of its client (`cached`: the token endpoint, whose grants
 * re-check the version) or must read it (`fresh`: every other endpoint, and the retry of a stale copy).
 */
export type ClientRead = 'cached' | 'fresh';

/** The copy of OAuth clients and how to tell whether one is still what the database holds. */
export interface ClientCopies {
  cache: ClientCache;
  /** True when the client exists, is enabled and is still at this version (one indexed read). */
  isCurrent: (clientId: string, version: number) => Promise<boolean>;
}

/** Where OAuth clients registered in the database are found: the client if it exists and is enabled. */
/**
 * An OAuth client by id; `ip` is the caller's address, which a lookup that fetches (a metadata-document client)
 * counts its fetches against.
 */
export type OAuthClientLookup = (clientId: string, ip: string) => Promise<OAuthClient | null>;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const DECOY = sha256('no such client');

/** Whether a client id names a registered public client (one without a credential). */
export type PublicClientLookup = (clientId: string) => boolean;

const CONFIDENTIAL_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;

export class ClientAuthentication {
  constructor(
    private readonly clients: ServiceClients,
    private readonly assertions: ClientAssertions,
    private readonly publicClients?: PublicClientLookup,
    private readonly oauthClients?: OAuthClientLookup,
    private readonly copies?: ClientCopies,
  ) {}

  /** The methods a client may use at the token endpoint (discovery's token_endpoint_auth_methods_supported). */
  get methods(): ClientAuthMethod[] {
    return this.publicClients || this.oauthClients ? [...CONFIDENTIAL_METHODS, 'none'] : [...CONFIDENTIAL_METHODS];
  }

  /** The methods for endpoints only confidential clients call (introspection, revocation). */
  get confidentialMethods(): ClientAuthMethod[] {
    return [...CONFIDENTIAL_METHODS];
  }

  /**
   * The client behind what was presented (null: nothing was), or DomainError invalid_client. `ip`: the caller's
   * address, for the lookups that count fetches per address.
   */
  async authenticate(
    presented: PresentedClient | null,
    ip = '',
    read: ClientRead = 'fresh',
  ): Promise<AuthenticatedClient> {
    if (!presented) throw refuse('no client credentials');
    switch (presented.method) {
      case 'client_secret_basic':
      case 'client_secret_post': {
        const client = this.clients.authenticate(presented.clientId, presented.secret);
        if (client) return { kind: 'confidential', id: client.id, method: presented.method, client };
        const found = this.clients.get(presented.clientId) ? null : await this.oauthSecret(presented, ip, read);
        if (!found) throw refuse(`client authentication failed for ${JSON.stringify(presented.clientId.slice(0, 64))}`);
        return { kind: 'oauth', id: found.client.id, method: presented.method, ...found };
      }
      case 'private_key_jwt': {
        if (presented.assertionType !== ASSERTION_TYPE || typeof presented.assertion !== 'string')
          throw refuse('bad client_assertion_type');
        try {
          if (this.oauthClients && !this.clients.get(unverifiedIssuer(presented.assertion))) {
            const lookup = this.oauthClients;
            const client = await this.assertions.authenticateAmong(
              async (id) => {
                const found = await lookup(id, ip);
                return found?.authMethod === 'private_key_jwt' ? found : null;
              },
              presented.clientId,
              presented.assertion,
            );
            return { kind: 'oauth', id: client.id, method: 'private_key_jwt', client };
          }
          const client = await this.assertions.authenticate(presented.clientId, presented.assertion);
          return { kind: 'confidential', id: client.id, method: 'private_key_jwt', client };
        } catch (err) {
          if (err instanceof AssertionRefused) throw refuse(`client assertion refused: ${err.message}`);
          throw err;
        }
      }
      case 'none': {
        if (this.oauthClients && !this.clients.get(presented.clientId)) {
          let found = await this.lookup(presented.clientId, ip, read);
          // The copy may predate a change of method: ask the database before refusing.
          if (found?.cached && found.client.authMethod !== 'none')
            found = await this.lookup(presented.clientId, ip, 'fresh');
          // A confidential client must prove itself: naming it is not enough.
          if (found?.client.authMethod === 'none')
            return { kind: 'oauth', id: found.client.id, method: 'none', ...found };
        }
        // A confidential client must prove itself: naming it is not enough.
        if (!this.publicClients?.(presented.clientId) || this.clients.get(presented.clientId))
          throw refuse('no client credentials');
        return { kind: 'public', id: presented.clientId, method: 'none' };
      }
    }
  }

  /**
   * The caller of an exchange whose subject token is itself the credential (an API key, RFC 8693: client
   * authentication is optional there) and who presented no client credential: a public caller, named by the
   * client_id it sent if any. The grant (src/domain/grants/token-exchange.ts) proves who it is from the key.
   */
  keyHolder(clientId: string | undefined): AuthenticatedClient {
    return { kind: 'public', id: clientId?.slice(0, 64) || 'api_key', method: 'none' };
  }

  /**
   * Whether an OAuth client taken from the copy is still what the database holds; when it is not, its entry
   * is dropped (the caller then authenticates the request again, `fresh`). A client read fresh is current.
   */
  async stillCurrent(client: AuthenticatedClient): Promise<boolean> {
    if (client.kind !== 'oauth' || !client.cached || !this.copies) return true;
    if (await this.copies.isCurrent(client.id, client.client.version)) return true;
    this.copies.cache.forget(client.id);
    return false;
  }

  /** An OAuth client by id: from the copy when `read` allows it and it holds one, else read (and kept). */
  private async lookup(
    clientId: string,
    ip: string,
    read: ClientRead,
  ): Promise<{ client: OAuthClient; cached: boolean } | null> {
    if (!this.oauthClients) return null;
    const copies = this.copies;
    const kept = read === 'cached' ? copies?.cache.get(clientId) : undefined;
    if (kept) return { client: kept, cached: true };
    const client = await this.oauthClients(clientId, ip);
    if (!client) {
      copies?.cache.forget(clientId);
      return null;
    }
    if (copies && client.authMethod !== 'private_key_jwt') copies.cache.set(client);
    return { client, cached: false };
  }

  /** An OAuth client registered with a secret, if this is its secret (compared in constant time either way). */
  private async oauthSecret(
    presented: { clientId: string; secret: string },
    ip: string,
    read: ClientRead,
  ): Promise<{ client: OAuthClient; cached: boolean } | null> {
    const found = await this.lookup(presented.clientId, ip, read);
    const client = found?.client;
    const stored = client?.secretHash ? Buffer.from(client.secretHash.replace(/^sha256:/, ''), 'base64url') : DECOY;
    const match = stored.length === 32 && timingSafeEqual(sha256(presented.secret), stored);
    if (found && match && client!.authMethod.startsWith('client_secret_')) return found;
    // The copy may predate a new secret or method (set on any instance): ask the database before refusing.
    if (found?.cached) return this.oauthSecret(presented, ip, 'fresh');
    return null;
  }
}

const refuse = (detail: string) => new DomainError('invalid_client', { detail });

/** The iss of a JWT before any check, only to choose where its client is registered. */
function unverifiedIssuer(jwt: string): string {
  try {
    const { iss } = decodeJwt(jwt);
    return typeof iss === 'string' ? iss : '';
  } catch {
    return '';
  }
}
