// "May this service client do that?" in one place: a client may call introspection, revocation or the
// admin API only if its configured scopes (client-config.ts) include `introspect`, `revoke` or `admin`.
import { DomainError } from '../domain-error.js';
import type { ServiceClient } from '../tokens/service-clients.js';
import type { TESSERA_SCOPES } from '../tokens/client-config.js';

export function requireClientScope(client: ServiceClient, scope: (typeof TESSERA_SCOPES)[number]): ServiceClient {
  if (!client.scopes.includes(scope))
    throw new DomainError('insufficient_scope', { detail: `client ${client.id} lacks scope ${scope}` });
  return client;
}
