// The one Bearer check (RFC 6750) for Tessera's own endpoints, for users and for service clients:
//   bearerAuth  /auth/me, /auth/logout-all, sessions, email and provider routes: a valid user access token
//               whose session is still live
//   adminAuth   /admin: such a user with the role `admin` now (read from the database, not the token, so a
//               revoked admin loses /admin at once), or a client_credentials token carrying scope `admin`
//               whose client's configuration still grants it (src/domain/authz/client-scopes.ts); a user
//               whose roles require a second factor (MFA_REQUIRED_ROLES) must have one and have used it; an
//               admin with a second factor changes anything (grants, clients, webhooks, factor resets, …)
//               only within RECENT_LOGIN_SECONDS of proving it (a step-up), clients' tokens need none
// One reading of the header, one set of challenges: no token is 401 missing_token, a bad or revoked one
// 401 invalid_token, a good one without the right is 403 insufficient_scope (RFC 6750 §3.1).
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler, preHandlerAsyncHookHandler } from 'fastify';
import { AppError } from '../errors.js';
import { DomainError } from '../domain/domain-error.js';
import { TokenInvalid, type AccessClaims, type AccessTokens } from '../domain/tokens/access-tokens.js';
import type { Accounts, PublicUser } from '../domain/accounts/accounts.js';
import { requireTokenScope } from '../domain/authz/client-scopes.js';
import type { Actor } from '../domain/actor.js';
import type { Services } from '../services.js';

interface BearerAuth {
  user: PublicUser;
  claims: AccessClaims;
}

declare module 'fastify' {
  interface FastifyRequest {
    bearer: BearerAuth | null;
    /** Set on /admin routes: who is acting, for the audit rows. */
    adminActor: Actor | null;
  }
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const ADMIN_ROLE = 'admin';
const ADMIN_SCOPE = 'admin';
/** Methods that change nothing: every other /admin request is a change. */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

type Refusal = 'missing_token' | 'invalid_token' | 'insufficient_scope';

function refuse(reply: FastifyReply, code: Refusal, detail?: string, scope?: string): AppError {
  const challenge = {
    // RFC 6750 §3.1: no error attribute when the request carried no credentials at all.
    missing_token: 'Bearer realm="tessera"',
    invalid_token:
      'Bearer realm="tessera", error="invalid_token", error_description="the access token is invalid, expired or revoked"',
    insufficient_scope: `Bearer realm="tessera", error="insufficient_scope", error_description="the ${scope} role or scope is required", scope="${scope}"`,
  }[code];
  reply.header('www-authenticate', challenge);
  return new AppError(code, { detail });
}

/** The token of the Authorization header, or a thrown 401. */
function bearerToken(request: FastifyRequest, reply: FastifyReply): string {
  const header = request.headers.authorization;
  if (!header) throw refuse(reply, 'missing_token');
  const match = BEARER.exec(header);
  if (!match) throw refuse(reply, 'invalid_token', 'malformed Authorization header');
  return match[1]!;
}

/** A user's token whose session is live; null when the token is not a user's; a thrown 401 when the session ended. */
async function liveUser(
  tokens: AccessTokens,
  accounts: Accounts,
  token: string,
  reply: FastifyReply,
): Promise<BearerAuth | { invalid: string }> {
  let claims: AccessClaims;
  try {
    claims = await tokens.verify(token);
  } catch (err) {
    if (err instanceof TokenInvalid) return { invalid: err.reason };
    throw err;
  }
  const user = await accounts.forSession(claims.sub, claims.sid);
  if (!user) throw refuse(reply, 'invalid_token', 'session revoked or user gone');
  return { user, claims };
}

export function bearerAuth(tokens: AccessTokens, accounts: Accounts): preHandlerAsyncHookHandler {
  return async function requireBearer(this: unknown, request: FastifyRequest, reply: FastifyReply) {
    const found = await liveUser(tokens, accounts, bearerToken(request, reply), reply);
    if ('invalid' in found) throw refuse(reply, 'invalid_token', found.invalid);
    request.bearer = found;
  };
}

export function adminAuth(services: Services): onRequestAsyncHookHandler {
  const { accessTokens, accounts, roles, clientTokens, serviceClients, config, mfa } = services;
  const audiences = new Set([config.issuer, ...config.audience]);
  return async function requireAdmin(this: unknown, request: FastifyRequest, reply: FastifyReply) {
    const token = bearerToken(request, reply);
    const found = await liveUser(accessTokens, accounts, token, reply);
    if (!('invalid' in found)) {
      const held = await roles.of(found.user.id);
      if (!held.includes(ADMIN_ROLE))
        throw refuse(reply, 'insufficient_scope', `user ${found.user.id} is not an admin`, ADMIN_SCOPE);
      // MFA_REQUIRED_ROLES (src/domain/mfa/role-policy.ts): enrol first, then sign in with the factor.
      await mfa.rolePolicy.check(found.user.id, held, found.claims.acr);
      // A change (anything but a read) is a sensitive act: an admin with a second factor proves it recently, as
      // for their own account (accounts/recent-auth.ts); 401 step_up_required, answered by POST /auth/step-up.
      if (!READS.has(request.method)) await mfa.recentAuth.stepUp(found.user.id, found.claims);
      request.adminActor = { kind: 'user', id: found.user.id };
      return;
    }
    // Not a user's token: a service client's, then.
    try {
      const claims = await clientTokens.verify(token);
      const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!auds.some((a) => audiences.has(a)))
        throw refuse(reply, 'invalid_token', 'client token for another audience');
      const client = serviceClients.get(claims.client_id);
      if (!client) throw refuse(reply, 'invalid_token', 'client no longer configured');
      requireTokenScope(client, claims.scope, ADMIN_SCOPE);
      request.adminActor = { kind: 'client', id: client.id };
    } catch (err) {
      if (err instanceof TokenInvalid) throw refuse(reply, 'invalid_token', err.reason);
      if (err instanceof DomainError && err.code === 'insufficient_scope')
        throw refuse(reply, 'insufficient_scope', err.message, ADMIN_SCOPE);
      throw err;
    }
  };
}
