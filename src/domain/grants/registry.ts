// The grant types POST /oauth/token answers, and the dispatch to them.
//
// To add a grant: write src/domain/grants/<grant-type>.ts exporting a `Grant` (grant.ts) and add it to
// GRANTS below. Nothing else: the token route dispatches to it, and discovery's grant_types_supported lists
// it. A grant module receives a GrantContext:
//   form      the parsed request body, every parameter (read one with `param(form, name)`)
//   client    the authenticated client: { kind: 'confidential', id, method, client } or, for a grant that
//             sets publicClients (PKCE), { kind: 'public', id, method: 'none' }
//   services  GrantServices: the token issuer (the only place claims are decided), the database
//   clock     the injected clock
//   meta      the request's address, user agent and id, for audit rows and new sessions
// and returns a GrantResult: { response: { access_token, token_type, expires_in, scope?, refresh_token?,
// id_token? }, log: { event, message, …ids } }; it refuses with DomainError (invalid_grant, invalid_scope…).
// Client authentication happens before (src/domain/authz/client-authentication.ts): a grant never checks a
// secret or an assertion itself.
import { DomainError } from '../domain-error.js';
import { authorizationCode } from './authorization-code.js';
import { clientCredentials } from './client-credentials.js';
import { deviceCode } from './device-code.js';
import { refreshToken } from './refresh-token.js';
import { tokenExchange } from './token-exchange.js';
import type { Grant, GrantContext, GrantResult } from './grant.js';

/** Every grant Tessera answers, in the order discovery lists them. */
const GRANTS: readonly Grant[] = [authorizationCode, clientCredentials, refreshToken, tokenExchange, deviceCode];

export class GrantRegistry {
  private readonly byType = new Map<string, Grant>();

  constructor(grants: readonly Grant[] = GRANTS) {
    for (const grant of grants) {
      if (this.byType.has(grant.type)) throw new Error(`grant type ${grant.type} is registered twice`);
      this.byType.set(grant.type, grant);
    }
  }

  /** Discovery's grant_types_supported. */
  get types(): string[] {
    return [...this.byType.keys()];
  }

  /** Runs the grant the form names; unsupported_grant_type when none is registered under that name. */
  async dispatch(context: GrantContext): Promise<GrantResult> {
    const type = context.form.grant_type;
    const grant = typeof type === 'string' ? this.byType.get(type) : undefined;
    if (!grant) throw new DomainError('unsupported_grant_type', { detail: `grant_type ${String(type).slice(0, 64)}` });
    if (context.client.kind === 'public' && !grant.publicClients)
      throw new DomainError('unauthorized_client', { detail: `public client ${context.client.id} asked for ${type}` });
    return grant.handle(context);
  }
}
