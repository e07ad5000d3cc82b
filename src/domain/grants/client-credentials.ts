// The client_credentials grant (RFC 6749 §4.4): a registered service client asks for a token about
// itself, with scopes within its configuration (client-tokens.ts's grantedScopes). No refresh token is
// issued: a service asks again. Only confidential clients: a client without a credential can't prove it is
// the service it names.
import { audit } from '../audit.js';
import { grantedScopes } from '../tokens/client-tokens.js';
import { DomainError } from '../domain-error.js';
import { param, type Grant } from './grant.js';

export const clientCredentials: Grant = {
  type: 'client_credentials',
  publicClients: false,
  async handle({ form, client: caller, services, clock, meta }) {
    if (caller.kind !== 'confidential') throw new DomainError('unauthorized_client');
    const client = caller.client;
    const scopes = grantedScopes(client, param(form, 'scope'));
    const response = await services.issuer.forClient({ id: client.id, audience: client.audience, scopes });
    await audit(services.db, meta, clock.now(), {
      type: 'client_token_issued',
      reason: `client ${client.id}: ${response.scope}`.slice(0, 500),
    });
    return {
      response,
      log: { event: 'client_token_issued', message: 'client token issued', clientId: client.id, scope: response.scope },
    };
  },
};
