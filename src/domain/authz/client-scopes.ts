// "May this service client do that?" in one place: a client may call introspection, revocation, the admin API or
// the external login page's API only if its configured scopes (client-config.ts) include `introspect`, `revoke`,
// `admin` or `authorization_ui`;
// with a client_credentials token, only if the token was granted the scope too.
import { DomainError } from '../domain-error.js';
import type { ServiceClient } from '../tokens/service-clients.js';
import type { TESSERA_SCOPES } from '../tokens/client-config.js';

type TesseraScope = (typeof TESSERA_SCOPES)[number];

export function requireClientScope(client: ServiceClient, scope: TesseraScope): ServiceClient {
  if (!client.scopes.includes(scope))
    throw new DomainError('insufficient_scope', { detail: `client ${client.id} lacks scope ${scope}` });
  return client;
}

/** A client's token may do `scope` only if it carries it and the client's configuration still grants it. */
export function requireTokenScope(client: ServiceClient, tokenScope: string, scope: TesseraScope): ServiceClient {
  if (!tokenScope.split(' ').includes(scope))
    throw new DomainError('insufficient_scope', { detail: `client ${client.id}'s token lacks scope ${scope}` });
  return requireClientScope(client, scope);
}
