// The refresh_token grant (RFC 6749 §6, OAuth 2.1 §4.3) for OAuth clients: the same rotation as Tessera's
// own refresh cookie (src/domain/sessions/session-lifecycle.ts and refresh-rotation.ts: one compare-and-swap statement, a grace window
// so two processes of one native app refreshing at once both keep working, reuse outside it ends the grant),
// bound to the client whose grant it is: another client's token is invalid_grant and burns nothing. The scope
// can only narrow (§6); no new ID token.
import { DomainError } from '../domain-error.js';
import { RotationError, type IssuedSession } from '../sessions/session-lifecycle.js';
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
    let issued: IssuedSession;
    try {
      issued = await services.oauth.lifecycle.refresh(presented, meta, client.id);
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
      audience: words(issued.audience),
      authTime: issued.sessionStartedAt,
      idp: issued.idp ?? null,
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
