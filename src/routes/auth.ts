// /auth/*: thin HTTP adapters over the domain services.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { RotationError, type IssuedSession } from '../domain/sessions/session-lifecycle.js';
import type { AuthenticatedUser } from '../domain/accounts/accounts.js';
import { bearerAuth } from '../plugins/bearer-auth.js';
import { rateLimitFor } from '../plugins/rate-limit.js';
import { requestMeta } from '../http/request-meta.js';
import {
  clearRefreshCookie,
  otherSchemeOf,
  readRefreshCookie,
  setRefreshCookie,
  type PresentedRefresh,
} from '../http/refresh-cookie.js';
import { Credentials, NoBody, TokenBody, UserBody, errorResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { noStore } from '../http/no-store.js';
import { DomainError } from '../domain/domain-error.js';
import { proofOf, secondFactorBody } from '../http/second-factor-body.js';

/** The first step succeeded for an account with a second factor: no session yet, no cookie. */
const MfaRequiredBody = Type.Object({
  mfa_required: Type.Literal(true),
  mfa_token: Type.String({ description: 'For POST /auth/mfa/verify: single use, valid for 5 minutes.' }),
  factors: Type.Array(
    Type.Object({
      factor_id: Type.String({ format: 'uuid' }),
      type: Type.Union([Type.Literal('totp'), Type.Literal('webauthn')], {
        description:
          '"totp": an authenticator app ({factor_id, code}); "webauthn": a passkey registered with user ' +
          'verification (options from POST /auth/mfa/passkey/options, then {challenge_id, response}).',
      }),
    }),
  ),
});

const MfaVerifyBody = secondFactorBody({ mfa_token: Type.String({ minLength: 1, maxLength: 128 }) });

const authRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts, lifecycle, accessTokens, tokenIssuer, clock } = services;
  const { secondStep } = services.mfa;
  const { cookieDomain } = services.config;
  const limited = rateLimitFor(services.config);
  const rateLimit = limited ? { rateLimit: limited } : {};
  const requireBearer = bearerAuth(accessTokens, accounts);

  // Token responses and personal data must never be stored by a cache (RFC 6749 §5.1).
  app.addHook('onSend', noStore);

  /** The tokens of a session just started or refreshed (src/domain/tokens/token-issuer.ts); the route sets the cookie. */
  async function sendTokens(reply: FastifyReply, issued: IssuedSession, presented?: PresentedRefresh) {
    const body = await tokenIssuer.forSession(issued);
    setRefreshCookie(reply, issued.refreshToken, issued.refreshExpiresAt, clock.now(), cookieDomain, presented);
    return body;
  }

  app.post(
    '/register',
    {
      config: { ...rateLimit },
      schema: {
        summary: 'Create an account',
        body: Credentials,
        response: { 201: Type.Object({ user: UserBody }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = await accounts.register(request.body.email, request.body.password, requestMeta(request));
      request.log.info({ event: 'register', userId: user.id }, 'user registered');
      // Email flows on: a verification link (src/domain/recovery/email-verification.ts). The account exists
      // already: a failure here is logged, not answered (the user can ask for another link).
      await services.recovery?.verification
        .sendAfterRegistration(user, requestMeta(request))
        .catch((err: unknown) =>
          request.log.error(
            { event: 'verification_mail_failed', userId: user.id, err },
            'could not queue the verification email',
          ),
        );
      return reply.code(201).send({ user: { ...user, created_at: user.createdAt.toISOString() } });
    },
  );

  app.post(
    '/login',
    {
      config: { outcomeMetric: 'login', ...rateLimit },
      schema: {
        summary: 'Log in: access token in the body, refresh token in an HttpOnly cookie',
        description:
          'For an account with a second factor (an authenticator app, or a passkey registered with user ' +
          'verification) the answer is {mfa_required, mfa_token, factors} and no cookie: complete the sign-in ' +
          'with POST /auth/mfa/verify.',
        body: Credentials,
        response: { 200: Type.Union([TokenBody, MfaRequiredBody]), ...errorResponses },
      },
    },
    async (request, reply) => {
      const meta = requestMeta(request);
      let user: AuthenticatedUser;
      try {
        user = await accounts.authenticate(request.body.email, request.body.password, meta);
      } catch (err) {
        if (err instanceof DomainError && err.code === 'invalid_credentials') {
          request.outcome = 'failed';
          request.log.info({ event: 'login_failed' }, 'login failed');
        }
        throw err;
      }
      // REQUIRE_VERIFIED_EMAIL (issue 11): only once the password was found right, so it reveals nothing.
      if (services.config.mail.requireVerifiedEmail && !user.emailVerified) {
        request.log.info({ event: 'login_failed', userId: user.id, reason: 'email_not_verified' }, 'login failed');
        throw new DomainError('email_not_verified');
      }
      // The session, or with a second factor on the account, the second step (src/domain/mfa/second-step.ts).
      let next: Awaited<ReturnType<typeof secondStep.afterPassword>>;
      try {
        next = await secondStep.afterPassword(user, meta);
      } catch (err) {
        if (!(err instanceof RotationError)) throw err;
        // The password changed between the check and the session: the old password no longer opens one.
        request.outcome = 'failed';
        request.log.info({ event: 'login_failed', userId: user.id, reason: err.failure }, 'login failed');
        throw err;
      }
      if ('challenge' in next) {
        const { challenge } = next;
        request.log.info({ event: 'login_mfa_required', userId: user.id }, 'login: second factor required');
        request.outcome = 'ok';
        return {
          mfa_required: true as const,
          mfa_token: challenge.mfaToken,
          factors: challenge.factors.map((f) => ({ factor_id: f.id, type: f.type })),
        };
      }
      const issued = next.session;
      request.log.info({ event: 'login_ok', userId: user.id, sessionId: issued.sessionId }, 'login');
      const body = await sendTokens(reply, issued, otherSchemeOf(request, cookieDomain));
      request.outcome = 'ok';
      return body;
    },
  );

  app.post(
    '/mfa/verify',
    {
      config: { outcomeMetric: 'login', ...rateLimit },
      schema: {
        summary: 'Complete a sign-in with a second factor: a code of a factor, a recovery code, or a passkey',
        description:
          'Answers like /auth/login. Wrong codes share one budget per account (5 per mfa_token; 10 in a row lock ' +
          'second-factor sign-in for 15 minutes: 429 mfa_locked with Retry-After). After a recovery code, ' +
          'recovery_codes_remaining says how many are left. A passkey: {mfa_token, challenge_id, response}, the ' +
          'answer to the options of POST /auth/mfa/passkey/options.',
        body: MfaVerifyBody,
        response: {
          200: Type.Object({
            ...TokenBody.properties,
            recovery_codes_remaining: Type.Optional(Type.Integer()),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const proof = proofOf(body);
      let completed: Awaited<ReturnType<typeof secondStep.complete>>;
      try {
        completed = await secondStep.complete(body.mfa_token, proof, requestMeta(request));
      } catch (err) {
        if (err instanceof DomainError) {
          request.outcome = 'failed';
          request.log.info({ event: 'login_mfa_failed', code: err.code }, 'second factor refused');
        }
        throw err;
      }
      const { session: issued, recoveryCodesRemaining } = completed;
      request.log.info(
        { event: 'login_ok', userId: issued.userId, sessionId: issued.sessionId, amr: issued.amr },
        'login with a second factor',
      );
      const tokens = await sendTokens(reply, issued, otherSchemeOf(request, cookieDomain));
      request.outcome = 'ok';
      return {
        ...tokens,
        ...(recoveryCodesRemaining !== undefined ? { recovery_codes_remaining: recoveryCodesRemaining } : {}),
      };
    },
  );

  app.post(
    '/refresh',
    {
      config: { cookieAuth: true, outcomeMetric: 'refresh', rateLimitBy: 'refresh_session', ...rateLimit },
      schema: {
        summary: 'Exchange the refresh cookie for a new access token and a new refresh cookie',
        response: { 200: TokenBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const presented = readRefreshCookie(request, cookieDomain);
      if (!presented.token) {
        request.outcome = 'invalid';
        throw new AppError('refresh_token_missing');
      }
      try {
        const issued = await lifecycle.refresh(presented.token, requestMeta(request));
        request.log.info({ event: 'refresh', userId: issued.userId, sessionId: issued.sessionId }, 'refresh');
        const body = await sendTokens(reply, issued, presented);
        request.outcome = issued.grace ? 'grace' : 'ok';
        return body;
      } catch (err) {
        if (!(err instanceof RotationError)) throw err;
        request.outcome = err.failure;
        clearRefreshCookie(reply, cookieDomain, presented); // the cookie is worthless now; don't let the client keep sending it
        if (err.failure === 'reused')
          request.log.warn(
            { event: 'refresh_reuse_detected', sessionId: err.sessionId },
            'refresh token reuse: session revoked',
          );
        throw err; // mapped to the catalog by the error handler, like every DomainError
      }
    },
  );

  app.post(
    '/logout',
    {
      config: { cookieAuth: true },
      schema: {
        summary: 'End the session of the refresh cookie (idempotent)',
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const presented = readRefreshCookie(request, cookieDomain);
      // Unknown, malformed or already-ended: nothing to do (logout is idempotent).
      const owner = presented.token ? lifecycle.sessionOf(presented.token) : null;
      if (owner)
        await lifecycle.end(
          { which: { ids: [owner.sessionId] }, reason: 'logout', by: { kind: 'self', sessionId: owner.sessionId } },
          requestMeta(request),
        );
      request.log.info({ event: 'logout' }, 'logout');
      clearRefreshCookie(reply, cookieDomain, presented);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/logout-all',
    {
      preHandler: requireBearer,
      schema: { summary: 'End every session of the user', response: { 204: NoBody, ...errorResponses } },
    },
    async (request, reply) => {
      const { user, claims } = request.bearer!;
      const ended = (
        await lifecycle.end(
          { which: { userId: user.id }, reason: 'logout_all', by: { kind: 'self', sessionId: claims.sid } },
          requestMeta(request),
        )
      ).length;
      request.log.info({ event: 'logout_all', userId: user.id, sessionId: claims.sid, ended }, 'logout-all');
      clearRefreshCookie(reply, cookieDomain);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/account',
    {
      preHandler: requireBearer,
      config: { ...rateLimit },
      schema: {
        summary:
          'Delete your own account (login at most RECENT_LOGIN_SECONDS old): sessions end, pending email and the addresses and user agents of its audit rows go',
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { user, claims } = request.bearer!;
      // With a second factor on the account: a recent one (step-up, docs/step-up.md).
      await services.mfa.recentAuth.stepUp(user.id, claims);
      await services.accountDeletion.deleteOwn(user.id, claims.auth_time, requestMeta(request));
      request.log.info({ event: 'account_deleted', userId: user.id }, 'account deleted by its owner');
      clearRefreshCookie(reply, cookieDomain);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/me',
    {
      preHandler: requireBearer,
      schema: { summary: 'The user the access token belongs to', response: { 200: UserBody, ...errorResponses } },
    },
    async (request) => {
      const { user } = request.bearer!;
      return {
        id: user.id,
        email: user.email,
        created_at: user.createdAt.toISOString(),
        email_verified: user.emailVerified ?? false,
      };
    },
  );
};

export default authRoutes;
