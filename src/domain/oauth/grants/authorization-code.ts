// grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.5, OIDC Core §3.1.3): the authenticated
// client spends its code (authorization-codes.ts: one statement) and gets an access token, an ID token when
// `openid` was granted, and a refresh token when `offline_access` was.
import { DomainError } from '../../domain-error.js';
import type { RequestMeta } from '../../audit.js';
import type { RefreshTokens } from '../../sessions/refresh-tokens.js';
import type { AuthorizationCodes } from '../authorization-codes.js';
import type { OAuthClient } from '../clients.js';
import type { GrantTokens } from '../grant-tokens.js';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
}

export interface CodeGrantDeps {
  codes: AuthorizationCodes;
  tokens: GrantTokens;
  refreshTokens: RefreshTokens;
}

export async function authorizationCodeGrant(
  deps: CodeGrantDeps,
  client: OAuthClient,
  body: Record<string, unknown>,
  meta: RequestMeta,
): Promise<TokenResponse> {
  const { code, redirect_uri: redirectUri, code_verifier: verifier } = body;
  if (typeof code !== 'string' || typeof redirectUri !== 'string' || typeof verifier !== 'string')
    throw new DomainError('invalid_request', { message: 'code, redirect_uri and code_verifier are required.' });
  const r = await deps.codes.redeem(code, client.id, redirectUri, verifier, meta);
  const subject = {
    userId: r.userId,
    clientId: client.id,
    grantSessionId: r.grantSessionId,
    scope: r.scope,
    audience: r.audience,
    authTime: r.authTime,
    idp: r.idp,
    roles: r.roles,
  };
  const accessToken = await deps.tokens.accessToken(subject);
  const idToken = r.scope.includes('openid')
    ? await deps.tokens.idToken(
        { ...subject, browserSessionId: r.browserSessionId, nonce: r.nonce, email: r.email, emailVerified: r.emailVerified },
        accessToken,
      )
    : undefined;
  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: deps.tokens.ttlSeconds,
    scope: r.scope.join(' '),
    ...(r.scope.includes('offline_access') ? { refresh_token: deps.refreshTokens.mint(r.grantSessionId, 0n) } : {}),
    ...(idToken ? { id_token: idToken } : {}),
  };
}
