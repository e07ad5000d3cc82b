// The Bearer check for Tessera's own endpoints (/auth/me, /auth/logout-all): a valid access token
// whose session is still live. Failures answer 401 with WWW-Authenticate (RFC 6750).
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { AppError } from '../errors.js';
import { TokenInvalid, type AccessClaims, type AccessTokens } from '../domain/tokens/access-tokens.js';
import type { Accounts, PublicUser } from '../domain/accounts/accounts.js';

interface BearerAuth {
  user: PublicUser;
  claims: AccessClaims;
}

declare module 'fastify' {
  interface FastifyRequest {
    bearer: BearerAuth | null;
  }
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function challenge(reply: FastifyReply, code: 'missing_token' | 'invalid_token', detail?: string): AppError {
  // RFC 6750 §3.1: no error attribute when the request carried no credentials at all.
  reply.header(
    'www-authenticate',
    code === 'missing_token'
      ? 'Bearer realm="tessera"'
      : 'Bearer realm="tessera", error="invalid_token", error_description="the access token is invalid, expired or revoked"',
  );
  return new AppError(code, { detail });
}

export function bearerAuth(tokens: AccessTokens, accounts: Accounts): preHandlerAsyncHookHandler {
  return async function requireBearer(this: unknown, request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers.authorization;
    if (!header) throw challenge(reply, 'missing_token');
    const match = BEARER.exec(header);
    if (!match) throw challenge(reply, 'invalid_token', 'malformed Authorization header');
    let claims: AccessClaims;
    try {
      claims = await tokens.verify(match[1]!);
    } catch (err) {
      if (err instanceof TokenInvalid) throw challenge(reply, 'invalid_token', err.reason);
      throw err;
    }
    const user = await accounts.forSession(claims.sub, claims.sid);
    if (!user) throw challenge(reply, 'invalid_token', 'session revoked or user gone');
    request.bearer = { user, claims };
  };
}
