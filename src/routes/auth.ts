// /auth/*: thin HTTP adapters over the domain services.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { RotationError, type IssuedSession, type RotationFailure } from '../domain/refresh-rotation.js';
import { bearerAuth } from '../plugins/bearer-auth.js';
import { rateLimitFor } from '../plugins/rate-limit.js';
import { requestMeta } from '../http/request-meta.js';
import { clearRefreshCookie, otherSchemeOf, readRefreshCookie, setRefreshCookie, type PresentedRefresh } from '../http/refresh-cookie.js';
import { Credentials, NoBody, TokenBody, UserBody, errorResponses } from '../http/schemas.js';
import type { Services } from '../services.js';

const ROTATION_ERRORS: Record<RotationFailure, 'refresh_token_invalid' | 'session_expired' | 'session_revoked' | 'refresh_token_reused' | 'invalid_credentials'> = {
  invalid: 'refresh_token_invalid',
  expired: 'session_expired',
  revoked: 'session_revoked',
  reused: 'refresh_token_reused',
  credentials_changed: 'invalid_credentials',
};

const authRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts, rotation, accessTokens, clock } = services;
  const { cookieDomain } = services.config;
  const limited = rateLimitFor(services.config);
  const rateLimit = limited ? { rateLimit: limited } : {};
  const requireBearer = bearerAuth(accessTokens, accounts);

  // Token responses and personal data must never be stored by a cache (RFC 6749 §5.1).
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('pragma', 'no-cache');
  });

  async function sendTokens(reply: FastifyReply, issued: IssuedSession, presented?: PresentedRefresh) {
    const accessToken = await accessTokens.issue({ userId: issued.userId, sessionId: issued.sessionId, authTime: issued.sessionStartedAt, idp: issued.idp });
    setRefreshCookie(reply, issued.refreshToken, issued.refreshExpiresAt, clock.now(), cookieDomain, presented);
    return { access_token: accessToken, token_type: 'Bearer' as const, expires_in: accessTokens.ttlSeconds };
  }

  app.post('/register', {
    config: { ...rateLimit },
    schema: {
      summary: 'Create an account',
      body: Credentials,
      response: { 201: Type.Object({ user: UserBody }), ...errorResponses },
    },
  }, async (request, reply) => {
    const user = await accounts.register(request.body.email, request.body.password, requestMeta(request));
    request.log.info({ event: 'register', userId: user.id }, 'user registered');
    return reply.code(201).send({ user: { ...user, createdAt: user.createdAt.toISOString() } });
  });

  app.post('/login', {
    config: { ...rateLimit },
    schema: {
      summary: 'Log in: access token in the body, refresh token in an HttpOnly cookie',
      body: Credentials,
      response: { 200: TokenBody, ...errorResponses },
    },
  }, async (request, reply) => {
    const meta = requestMeta(request);
    let user;
    try {
      user = await accounts.authenticate(request.body.email, request.body.password, meta);
    } catch (err) {
      if (err instanceof AppError && err.code === 'invalid_credentials') request.log.info({ event: 'login_failed' }, 'login failed');
      throw err;
    }
    let issued: IssuedSession;
    try {
      issued = await rotation.start(user.id, meta, user.passwordHash);
    } catch (err) {
      if (!(err instanceof RotationError)) throw err;
      // The password changed between the check and the session: the old password no longer opens one.
      request.log.info({ event: 'login_failed', userId: user.id, reason: err.failure }, 'login failed');
      throw new AppError(ROTATION_ERRORS[err.failure], { detail: 'password changed during login' });
    }
    request.log.info({ event: 'login_ok', userId: user.id, sessionId: issued.sessionId }, 'login');
    return sendTokens(reply, issued, otherSchemeOf(request, cookieDomain));
  });

  app.post('/refresh', {
    config: { cookieAuth: true, ...rateLimit },
    schema: {
      summary: 'Exchange the refresh cookie for a new access token and a new refresh cookie',
      response: { 200: TokenBody, ...errorResponses },
    },
  }, async (request, reply) => {
    const presented = readRefreshCookie(request, cookieDomain);
    if (!presented.token) throw new AppError('refresh_token_missing');
    try {
      const issued = await rotation.rotate(presented.token, requestMeta(request));
      request.log.info({ event: 'refresh', userId: issued.userId, sessionId: issued.sessionId }, 'refresh');
      return await sendTokens(reply, issued, presented);
    } catch (err) {
      if (!(err instanceof RotationError)) throw err;
      clearRefreshCookie(reply, cookieDomain, presented); // the cookie is worthless now; don't let the client keep sending it
      if (err.failure === 'reused') request.log.warn({ event: 'refresh_reuse_detected', sessionId: err.sessionId }, 'refresh token reuse: session revoked');
      throw new AppError(ROTATION_ERRORS[err.failure], { detail: `refresh refused: ${err.failure}` });
    }
  });

  app.post('/logout', {
    config: { cookieAuth: true },
    schema: { summary: 'End the session of the refresh cookie (idempotent)', response: { 204: NoBody, ...errorResponses } },
  }, async (request, reply) => {
    const presented = readRefreshCookie(request, cookieDomain);
    if (presented.token) await rotation.logout(presented.token, requestMeta(request));
    request.log.info({ event: 'logout' }, 'logout');
    clearRefreshCookie(reply, cookieDomain, presented);
    return reply.code(204).send(null);
  });

  app.post('/logout-all', {
    preHandler: requireBearer,
    schema: { summary: 'End every session of the user', response: { 204: NoBody, ...errorResponses } },
  }, async (request, reply) => {
    const { user, claims } = request.bearer!;
    const ended = await rotation.logoutAll(user.id, requestMeta(request), claims.sid);
    request.log.info({ event: 'logout_all', userId: user.id, sessionId: claims.sid, ended }, 'logout-all');
    clearRefreshCookie(reply, cookieDomain);
    return reply.code(204).send(null);
  });

  app.get('/me', {
    preHandler: requireBearer,
    schema: { summary: 'The user the access token belongs to', response: { 200: UserBody, ...errorResponses } },
  }, async (request) => {
    const { user } = request.bearer!;
    return { id: user.id, email: user.email, createdAt: user.createdAt.toISOString() };
  });
};

export default authRoutes;
