// "Which client is calling?": the one step before every OAuth endpoint a client calls (the token endpoint,
// introspection, revocation), whatever the method (RFC 6749 §2.3, OIDC Core §9):
//   client_secret_basic / client_secret_post  a service client's secret (service-clients.ts)
//   private_key_jwt                           a signed, single-use assertion (client-assertions.ts)
//   none                                      a public client that only names itself (a browser or native
//                                             app, which proves the authorization with PKCE instead);
//                                             offered only when a lookup of public clients is given
// The HTTP layer (src/http/client-auth.ts) reads what was presented; this decides. Every failure is
// invalid_client with a log-only detail, so a caller learns nothing about which part was wrong.
import { DomainError } from '../domain-error.js';
import type { ServiceClient, ServiceClients } from '../tokens/service-clients.js';
import { ASSERTION_TYPE, AssertionRefused, type ClientAssertions } from './client-assertions.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

/** What a request presented to say which client it is. */
export type PresentedClient =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; secret: string }
  | { method: 'private_key_jwt'; clientId: string | undefined; assertionType: unknown; assertion: unknown }
  | { method: 'none'; clientId: string };

/** The client a request comes from, once its method checked out. */
export type AuthenticatedClient =
  | { kind: 'confidential'; id: string; method: ClientAuthMethod; client: ServiceClient }
  | { kind: 'public'; id: string; method: 'none' };

/** Whether a client id names a registered public client (one without a credential). */
export type PublicClientLookup = (clientId: string) => boolean;

const CONFIDENTIAL_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;

export class ClientAuthentication {
  constructor(
    private readonly clients: ServiceClients,
    private readonly assertions: ClientAssertions,
    private readonly publicClients?: PublicClientLookup,
  ) {}

  /** The methods a client may use at the token endpoint (discovery's token_endpoint_auth_methods_supported). */
  get methods(): ClientAuthMethod[] {
    return this.publicClients ? [...CONFIDENTIAL_METHODS, 'none'] : [...CONFIDENTIAL_METHODS];
  }

  /** The methods for endpoints only confidential clients call (introspection, revocation). */
  get confidentialMethods(): ClientAuthMethod[] {
    return [...CONFIDENTIAL_METHODS];
  }

  /** The client behind what was presented (null: nothing was), or DomainError invalid_client. */
  async authenticate(presented: PresentedClient | null): Promise<AuthenticatedClient> {
    if (!presented) throw refuse('no client credentials');
    switch (presented.method) {
      case 'client_secret_basic':
      case 'client_secret_post': {
        const client = this.clients.authenticate(presented.clientId, presented.secret);
        if (!client)
          throw refuse(`client authentication failed for ${JSON.stringify(presented.clientId.slice(0, 64))}`);
        return { kind: 'confidential', id: client.id, method: presented.method, client };
      }
      case 'private_key_jwt': {
        if (presented.assertionType !== ASSERTION_TYPE || typeof presented.assertion !== 'string')
          throw refuse('bad client_assertion_type');
        try {
          const client = await this.assertions.authenticate(presented.clientId, presented.assertion);
          return { kind: 'confidential', id: client.id, method: 'private_key_jwt', client };
        } catch (err) {
          if (err instanceof AssertionRefused) throw refuse(`client assertion refused: ${err.message}`);
          throw err;
        }
      }
      case 'none': {
        // A confidential client must prove itself: naming it is not enough.
        if (!this.publicClients?.(presented.clientId) || this.clients.get(presented.clientId))
          throw refuse('no client credentials');
        return { kind: 'public', id: presented.clientId, method: 'none' };
      }
    }
  }
}

const refuse = (detail: string) => new DomainError('invalid_client', { detail });
