// Who may call /admin: a user whose access token is valid, whose session is live and who has the role
// `admin` now (read from the database, not the token, so a revoked admin loses /admin at once, not at the
// next refresh), or a service client with a client_credentials token carrying scope `admin` whose
// configuration still grants it. Anything else with a valid token is 403 insufficient_scope (RFC 6750 §3.1).
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { AppError } from '../errors.js';
import { TokenInvalid } from '../domain/tokens/access-tokens.js';
import type { Actor } from '../domain/actor.js';
import type { Services } from '../services.js';

const ADMIN_ROLE = 'admin';
const ADMIN_SCOPE = 'admin';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on /admin routes: who is acting, for the audit rows. */
    adminActor: Actor | null;
  }
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function refuse(
  reply: FastifyReply,
  code: 'missing_token' | 'invalid_token' | 'insufficient_scope',
  detail?: string,
): AppError {
  const challenge = {
    missing_token: 'Bearer realm="tessera"',
    invalid_token:
      'Bearer realm="tessera", error="invalid_token", error_description="the access token is invalid, expired or revoked"',
    insufficient_scope: `Bearer realm="tessera", error="insufficient_scope", error_description="the admin role or scope is required", scope="${ADMIN_SCOPE}"`,
  }[code];
  reply.header('www-authenticate', challenge);
  return new AppError(code, { detail });
}

export function adminAuth(services: Services): onRequestAsyncHookHandler {
  const { accessTokens, accounts, roles, clientTokens, serviceClients, config } = services;
  const audiences = new Set([config.issuer, ...config.audience]);
  return async function requireAdmin(this: unknown, request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers.authorization;
    if (!header) throw refuse(reply, 'missing_token');
    const match = BEARER.exec(header);
    if (!match) throw refuse(reply, 'invalid_token', 'malformed Authorization header');
    const token = match[1]!;
    try {
      const claims = await accessTokens.verify(token);
      const user = await accounts.forSession(claims.sub, claims.sid);
      if (!user) throw refuse(reply, 'invalid_token', 'session revoked or user gone');
      if (!(await roles.of(user.id)).includes(ADMIN_ROLE))
        throw refuse(reply, 'insufficient_scope', `user ${user.id} is not an admin`);
      request.adminActor = { kind: 'user', id: user.id };
      return;
    } catch (err) {
      if (!(err instanceof TokenInvalid)) throw err;
    }
    try {
      const claims = await clientTokens.verify(token);
      const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!auds.some((a) => audiences.has(a)))
        throw refuse(reply, 'invalid_token', 'client token for another audience');
      const client = serviceClients.get(claims.client_id);
      if (!client) throw refuse(reply, 'invalid_token', 'client no longer configured');
      if (!claims.scope.split(' ').includes(ADMIN_SCOPE) || !client.scopes.includes(ADMIN_SCOPE)) {
        throw refuse(reply, 'insufficient_scope', `client ${client.id} lacks the admin scope`);
      }
      request.adminActor = { kind: 'client', id: client.id };
    } catch (err) {
      if (err instanceof TokenInvalid) throw refuse(reply, 'invalid_token', err.reason);
      throw err;
    }
  };
}
