// The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.5, OIDC Core §3.1.3) for OAuth clients
// registered in the database, public (none + PKCE) or confidential. The code is spent by one statement
// (src/domain/oauth/authorization-codes.ts: bound to the client, the redirect URI and the PKCE verifier; a
// second presentation ends the grant it started); the access token comes from the one token issuer, the ID
// token when `openid` was granted, the refresh token when `offline_access` was.
import { DomainError } from '../domain-error.js';
import { narrowAudience } from '../oauth/resources.js';
import { param, type Grant } from './grant.js';
import { userGrantTokens } from './user-grant-tokens.js';

export const authorizationCode: Grant = {
  type: 'authorization_code',
  publicClients: true,
  async handle({ form, client: caller, services, meta }) {
    if (caller.kind !== 'oauth') throw new DomainError('unauthorized_client');
    const client = caller.client;
    const code = param(form, 'code');
    const redirectUri = param(form, 'redirect_uri');
    const verifier = param(form, 'code_verifier');
    if (code === undefined || redirectUri === undefined || verifier === undefined)
      throw new DomainError('invalid_request', { message: 'code, redirect_uri and code_verifier are required.' });
    const { codes } = services.oauth;
    // RFC 8707 §2.2: a resource named here must be the grant's (the statement that spends the code checks it).
    const r = await codes.redeem(code, client, redirectUri, verifier, meta, param(form, 'resource'));
    const audience = narrowAudience(r.audience, param(form, 'resource'));
    const grant = {
      userId: r.userId,
      clientId: client.id,
      sessionId: r.grantSessionId,
      scope: r.scope,
      audience,
      authTime: r.authTime,
      idp: r.idp,
      amr: r.amr,
      roles: r.roles,
    };
    const response = await userGrantTokens(services, grant, {
      browserSessionId: r.browserSessionId,
      nonce: r.nonce,
      email: r.email,
      emailVerified: r.emailVerified,
    });
    return {
      response,
      log: {
        event: 'oauth_code_redeemed',
        message: 'authorization code redeemed',
        clientId: client.id,
        userId: r.userId,
        sessionId: r.grantSessionId,
      },
    };
  },
};
