// grant_type=refresh_token for OAuth clients (RFC 6749 §6, OAuth 2.1 §4.3): the same rotation as Tessera's
// own refresh cookie (src/domain/sessions/refresh-rotation.ts: one compare-and-swap statement, a grace
// window for two processes of one app refreshing at once, reuse outside it ends the grant), bound to the
// client whose grant it is. The scope can only narrow (§6); the ID token is not re-issued.
import { DomainError } from '../../domain-error.js';
import type { RequestMeta } from '../../audit.js';
import { RotationError, type RefreshRotation } from '../../sessions/refresh-rotation.js';
import type { OAuthClient } from '../clients.js';
import type { GrantTokens } from '../grant-tokens.js';
import type { TokenResponse } from './authorization-code.js';

export interface RefreshGrantDeps {
  rotation: RefreshRotation;
  tokens: GrantTokens;
}

export async function refreshTokenGrant(
  deps: RefreshGrantDeps,
  client: OAuthClient,
  body: Record<string, unknown>,
  meta: RequestMeta,
): Promise<TokenResponse & { grace: boolean }> {
  const presented = body.refresh_token;
  if (typeof presented !== 'string' || presented.length > 256)
    throw new DomainError('invalid_request', { message: 'refresh_token is required.' });
  if (!client.grantTypes.includes('refresh_token')) throw new DomainError('unauthorized_client');
  let issued: Awaited<ReturnType<RefreshRotation['rotate']>>;
  try {
    issued = await deps.rotation.rotate(presented, meta, client.id);
  } catch (err) {
    if (err instanceof RotationError)
      throw new DomainError('invalid_grant', { detail: `refresh refused: ${err.failure}` });
    throw err;
  }
  const granted = (issued.scope ?? '').split(' ').filter(Boolean);
  const asked = typeof body.scope === 'string' ? body.scope.split(' ').filter(Boolean) : granted;
  if (!asked.every((s) => granted.includes(s))) throw new DomainError('invalid_scope');
  const accessToken = await deps.tokens.accessToken({
    userId: issued.userId,
    clientId: client.id,
    grantSessionId: issued.sessionId,
    scope: asked,
    audience: (issued.audience ?? '').split(' ').filter(Boolean),
    authTime: issued.sessionStartedAt,
    idp: issued.idp ?? null,
    roles: issued.roles ?? [],
  });
  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: deps.tokens.ttlSeconds,
    scope: asked.join(' '),
    refresh_token: issued.refreshToken,
    grace: issued.grace === true,
  };
}
