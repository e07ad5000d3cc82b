// The token response of a grant a user approved for an OAuth client (the authorization_code and device_code
// grants): the access token from the one token issuer, the ID token when `openid` was granted, and the refresh
// token of the grant's session when `offline_access` was. Both grants spend their code by one statement first;
// what they hand out is decided here once.
import type { IdTokenSubject } from '../oauth/grant-tokens.js';
import type { OAuthGrant, TokenResponse } from '../tokens/token-issuer.js';
import type { GrantServices } from './grant.js';

export async function userGrantTokens(
  services: Pick<GrantServices, 'issuer' | 'oauth'>,
  grant: OAuthGrant,
  signIn: Omit<IdTokenSubject, keyof OAuthGrant>,
): Promise<TokenResponse & { scope: string; refresh_token?: string; id_token?: string }> {
  const { issuer, oauth } = services;
  const response = await issuer.forGrant(grant);
  const idToken = grant.scope.includes('openid')
    ? await oauth.idTokens.idToken({ ...grant, ...signIn }, response.access_token)
    : undefined;
  return {
    ...response,
    ...(grant.scope.includes('offline_access') ? { refresh_token: oauth.refreshTokens.mint(grant.sessionId, 0n) } : {}),
    ...(idToken ? { id_token: idToken } : {}),
  };
}
