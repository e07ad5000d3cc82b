// Signing in with a password on a built-in page (/oauth/authorize, /oauth/device): the account checked as
// everywhere (src/domain/accounts/accounts.ts: equal answers for unknown user and wrong password, the login
// throttle), a Tessera session started through the one lifecycle, and the browser-session (SSO) cookie set, so
// the next page of either flow skips the password.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/domain-error.js';
import { isEmailVerified } from '../domain/recovery/email-verification.js';
import type { BrowserSession } from '../domain/oauth/browser-sessions.js';
import type { Services } from '../services.js';
import { requestMeta } from './request-meta.js';

export const BROWSER_SESSION_COOKIE = '__Host-tessera_sso';

export type SignInRefusal = 'invalid_credentials' | 'too_many_requests' | 'email_not_verified' | 'account_disabled';

const STATUS: Record<SignInRefusal, number> = {
  invalid_credentials: 401,
  too_many_requests: 429,
  email_not_verified: 403,
  account_disabled: 403,
};

/** The new browser session (its cookie set), or why not with the page's status (Retry-After set when throttled). */
export async function passwordSignIn(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  email: string,
  password: string,
): Promise<{ ok: true; session: BrowserSession } | { ok: false; code: SignInRefusal; status: number }> {
  const { accounts, config, lifecycle, oauth } = services;
  const meta = requestMeta(request);
  let fresh: BrowserSession;
  try {
    const user = await accounts.authenticate(email, password, meta);
    if (config.mail.requireVerifiedEmail && !(await isEmailVerified(services.database.sql, user.id)))
      return { ok: false, code: 'email_not_verified', status: STATUS.email_not_verified };
    const issued = await lifecycle.start(user.id, { kind: 'password', verifiedHash: user.passwordHash }, meta);
    fresh = { userId: user.id, sessionId: issued.sessionId, authTime: issued.sessionStartedAt, idp: null };
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    request.log.info({ event: 'login_failed', code: err.code }, 'browser sign-in failed');
    const code: SignInRefusal =
      err.code === 'too_many_requests' || err.code === 'account_disabled' ? err.code : 'invalid_credentials';
    if (code === 'too_many_requests' && err.retryAfter !== undefined)
      reply.header('retry-after', String(err.retryAfter));
    return { ok: false, code, status: STATUS[code] };
  }
  request.log.info({ event: 'login_ok', userId: fresh.userId, sessionId: fresh.sessionId }, 'browser sign-in');
  reply.setCookie(BROWSER_SESSION_COOKIE, oauth.browserSessions.seal(fresh.sessionId), {
    httpOnly: true,
    secure: true,
    sameSite: 'lax',
    path: '/',
  });
  return { ok: true, session: fresh };
}
