// Signing in with a password on a built-in page (/oauth/authorize, /oauth/device): the account checked as
// everywhere (src/domain/accounts/accounts.ts: equal answers for unknown user and wrong password, the login
// throttle), a Tessera session started through the one lifecycle, and the browser-session (SSO) cookie set, so
// the next page of either flow skips the password. An account with a second factor gets the challenge instead
// (src/domain/mfa/second-step.ts), and `secondStepSignIn` completes it from the page's form: the same failure
// budget as POST /auth/mfa/verify, then the same session and cookie.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { Value } from 'typebox/value';
import { DomainError } from '../domain/domain-error.js';
import type { BrowserSession } from '../domain/oauth/browser-sessions.js';
import type { IssuedSession } from '../domain/sessions/session-lifecycle.js';
import type { Challenge, SecondStepProof } from '../domain/mfa/second-step.js';
import type { Services } from '../services.js';
import { requestMeta } from './request-meta.js';
import { AuthenticationResponse, ChallengeId } from './passkey-schemas.js';

export const BROWSER_SESSION_COOKIE = '__Host-tessera_sso';

export type SignInRefusal = 'invalid_credentials' | 'too_many_requests' | 'email_not_verified' | 'account_disabled';

const STATUS: Record<SignInRefusal, number> = {
  invalid_credentials: 401,
  too_many_requests: 429,
  email_not_verified: 403,
  account_disabled: 403,
};

export type SecondStepRefusal = 'mfa_code_invalid' | 'passkey_sign_in_failed' | 'mfa_token_invalid' | 'mfa_locked';

const SECOND_STEP_STATUS: Record<SecondStepRefusal, number> = {
  mfa_code_invalid: 400,
  // A refused passkey is the page again, like a wrong code, saying it was the passkey.
  passkey_sign_in_failed: 400,
  mfa_token_invalid: 401,
  mfa_locked: 429,
};

/**
 * The new browser session (its cookie set); or the second step's challenge for an account with a factor; or why
 * not with the page's status (Retry-After set when throttled).
 */
export async function passwordSignIn(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  email: string,
  password: string,
): Promise<
  | { ok: true; session: BrowserSession }
  | { ok: false; code: SignInRefusal; status: number }
  | { ok: 'second_step'; challenge: Challenge }
> {
  const { accounts, config } = services;
  const meta = requestMeta(request);
  let fresh: BrowserSession;
  try {
    const user = await accounts.authenticate(email, password, meta);
    if (config.mail.requireVerifiedEmail && !user.emailVerified)
      return { ok: false, code: 'email_not_verified', status: STATUS.email_not_verified };
    const next = await services.mfa.secondStep.afterPassword(user, meta);
    if ('challenge' in next) {
      request.log.info({ event: 'login_mfa_required', userId: user.id }, 'browser sign-in: second factor required');
      return { ok: 'second_step', challenge: next.challenge };
    }
    fresh = browserSessionOf(next.session);
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
  return { ok: true, session: remember(services, reply, fresh) };
}

/** The passkey's answer the page's script put in the form (JSON text), as the JSON API would take it; or null. */
function passkeyProof(challengeId: string, responseText: string): SecondStepProof | null {
  if (!challengeId || !responseText || !Value.Check(ChallengeId, challengeId)) return null;
  let response: unknown;
  try {
    response = JSON.parse(responseText);
  } catch {
    return null;
  }
  if (!Value.Check(AuthenticationResponse, response)) return null;
  return { kind: 'passkey', challengeId, response: response as unknown as AuthenticationResponseJSON };
}

/**
 * The page's second step for the mfa_token of passwordSignIn: a code of a factor, a recovery code, or the answer
 * of a passkey (the page's script: passkey-step-script.ts).
 */
export async function secondStepSignIn(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  form: {
    mfaToken: string;
    factorId: string;
    code: string;
    recoveryCode: string;
    passkeyChallengeId: string;
    passkeyResponse: string;
  },
): Promise<{ ok: true; session: BrowserSession } | { ok: false; code: SecondStepRefusal; status: number }> {
  const proof: SecondStepProof | null = form.passkeyResponse
    ? passkeyProof(form.passkeyChallengeId, form.passkeyResponse)
    : form.code.trim()
      ? { kind: 'totp', factorId: form.factorId, code: form.code }
      : form.recoveryCode.trim()
        ? { kind: 'recovery_code', code: form.recoveryCode }
        : null;
  // Nothing typed (or no readable passkey answer): asked again, without spending an attempt.
  if (!proof) return { ok: false, code: 'mfa_code_invalid', status: SECOND_STEP_STATUS.mfa_code_invalid };
  try {
    const { session } = await services.mfa.secondStep.complete(form.mfaToken, proof, requestMeta(request));
    request.log.info(
      { event: 'login_ok', userId: session.userId, sessionId: session.sessionId, amr: session.amr },
      'browser sign-in with a second factor',
    );
    return {
      ok: true,
      session: remember(services, reply, browserSessionOf(session)),
    };
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    request.log.info({ event: 'login_mfa_failed', code: err.code }, 'browser second step refused');
    const code: SecondStepRefusal =
      err.code === 'mfa_locked' || err.code === 'mfa_token_invalid'
        ? err.code
        : proof.kind === 'passkey'
          ? 'passkey_sign_in_failed'
          : 'mfa_code_invalid';
    if (code === 'mfa_locked' && err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
    return { ok: false, code, status: SECOND_STEP_STATUS[code] };
  }
}

/** The browser session (what the SSO cookie stands for) of a session just started. */
export function browserSessionOf(issued: IssuedSession): BrowserSession {
  return {
    userId: issued.userId,
    sessionId: issued.sessionId,
    authTime: issued.sessionStartedAt,
    idp: issued.idp ?? null,
    amr: issued.amr,
  };
}

/** Sets the browser-session (SSO) cookie for a session just started (here, or by the external login page). */
export function remember(services: Services, reply: FastifyReply, fresh: BrowserSession): BrowserSession {
  reply.setCookie(BROWSER_SESSION_COOKIE, services.oauth.browserSessions.seal(fresh.sessionId), {
    httpOnly: true,
    secure: true,
    sameSite: 'lax',
    path: '/',
  });
  return fresh;
}
