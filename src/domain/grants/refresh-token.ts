// The refresh_token grant (RFC 6749 §6, OAuth 2.1 §4.3) for OAuth clients: the same rotation as Tessera's
// own refresh cookie (src/domain/sessions/session-lifecycle.ts and refresh-rotation.ts: one compare-and-swap statement, a grace window
// so two processes of one native app refreshing at once both keep working, reuse outside it ends the grant),
// bound to the client whose grant it is: another client's token is invalid_grant and burns nothing. The scope
// can only narrow (§6), and so can the resource (RFC 8707 §2.2). A request that asks for a scope or a resource is
// checked against the grant before the token rotates (one read more than a plain refresh): refused, it leaves
// the client's token as it was, so a mistaken scope never turns the client's next refresh into a reuse that
// ends the grant. No new ID token.
import { DomainError } from '../domain-error.js';
import { RotationError, type IssuedSession } from '../sessions/session-lifecycle.js';
import { allowedResources, narrowAudience } from '../oauth/resources.js';
import { param, type Grant } from './grant.js';

const words = (s: string | null | undefined) => (s ?? '').split(' ').filter(Boolean);

/** The scope and audience a refresh asks for, within its grant's; throws invalid_scope or invalid_target. */
function narrow(
  grant: { scope?: string | null; audience?: string | null },
  asked: string | undefined,
  resource: string | undefined,
): { scope: string[]; audience: string[] } {
  const granted = words(grant.scope);
  const scope = asked === undefined ? granted : words(asked);
  if (!scope.every((s) => granted.includes(s))) throw new DomainError('invalid_scope');
  return { scope, audience: narrowAudience(words(grant.audience), resource) };
}

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
    const asked = param(form, 'scope');
    if (asked !== undefined || resource !== undefined) {
      const grant = await services.oauth.lifecycle.grantOf(presented, client);
      // No grant of this client's: the rotation below refuses the token, and burns nothing.
      if (grant) narrow(grant, asked, resource);
    }
    let issued: IssuedSession;
    try {
      issued = await services.oauth.lifecycle.refresh(presented, meta, client);
    } catch (err) {
      if (err instanceof RotationError)
        throw new DomainError('invalid_grant', { detail: `refresh refused: ${err.failure}` });
      throw err;
    }
    const { scope, audience } = narrow(issued, asked, resource);
    const response = await services.issuer.forGrant({
      userId: issued.userId,
      clientId: client.id,
      sessionId: issued.sessionId,
      scope,
      audience,
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
