// The refresh_token grant (RFC 6749 §6, OAuth 2.1 §4.3) for OAuth clients: the same rotation as Tessera's
// own refresh cookie (src/domain/sessions/session-lifecycle.ts and refresh-rotation.ts: one compare-and-swap statement, a grace window
// so two processes of one native app refreshing at once both keep working, reuse outside it ends the grant),
// bound to the client whose grant it is: another client's token is invalid_grant and burns nothing. The scope
// can only narrow (§6), and so can the resource (RFC 8707 §2.2): a resource the client could never have been
// granted is refused before the token rotates, one outside this grant after (the grace window lets the client
// present the same token again); no new ID token.
import { DomainError } from '../domain-error.js';
import { RotationError, type IssuedSession } from '../sessions/session-lifecycle.js';
import { allowedResources, narrowAudience } from '../oauth/resources.js';
import { param, type Grant } from './grant.js';

const words = (s: string | null | undefined) => (s ?? '').split(' ').filter(Boolean);

export const refreshToken: Grant = {
  type: 'refresh_token',
  publicClients: true,
  async handle({ form, client: caller, services, meta }) {
    if (caller.kind !== 'oauth' || !caller.client.grantTypes.includes('refresh_token'))
      throw new DomainError('unauthorized_client');
    const client = caller.client;
    const presented = param(form, 'refresh_token');
    if (presented === undefined || presented.length > 256)
      throw new DomainError('invalid_request', { message: 'refresh_token is required.' });
    const resource = param(form, 'resource');
    const { resources } = services.oauth;
    if (
      resource !== undefined &&
      !allowedResources(client, resources).includes(resource) &&
      !resources.fallback.includes(resource)
    )
      throw new DomainError('invalid_target', { detail: `refresh for unregistered resource, client ${client.id}` });
    let issued: IssuedSession;
    try {
      issued = await services.oauth.lifecycle.refresh(presented, meta, client);
    } catch (err) {
      if (err instanceof RotationError)
        throw new DomainError('invalid_grant', { detail: `refresh refused: ${err.failure}` });
      throw err;
    }
    const granted = words(issued.scope);
    const asked = param(form, 'scope');
    const scope = asked === undefined ? granted : words(asked);
    if (!scope.every((s) => granted.includes(s))) throw new DomainError('invalid_scope');
    const response = await services.issuer.forGrant({
      userId: issued.userId,
      clientId: client.id,
      sessionId: issued.sessionId,
      scope,
      audience: narrowAudience(words(issued.audience), resource),
      authTime: issued.sessionStartedAt,
      idp: issued.idp ?? null,
      amr: issued.amr,
      roles: issued.roles ?? [],
    });
    return {
      response: { ...response, refresh_token: issued.refreshToken },
      log: {
        event: 'oauth_refresh',
        message: 'OAuth refresh',
        clientId: client.id,
        sessionId: issued.sessionId,
        grace: issued.grace === true,
      },
    };
  },
};
