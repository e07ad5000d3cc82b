// /auth/sessions and /auth/password: a signed-in user sees and ends their own sessions, and changes
// their password (which ends every other session).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { PASSWORD_MAX } from '../domain/accounts/passwords.js';
import { bearerAuth } from '../plugins/bearer-auth.js';
import { rateLimitFor } from '../plugins/rate-limit.js';
import { requestMeta } from '../http/request-meta.js';
import { NoBody, errorResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { noStore } from '../http/no-store.js';
import { isUuid } from '../domain/ids.js';

const SessionBody = Type.Object({
  id: Type.String({ format: 'uuid' }),
  created: Type.String({ format: 'date-time' }),
  last_used: Type.String({ format: 'date-time' }),
  expires: Type.String({ format: 'date-time' }),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
});

const PasswordChange = Type.Object(
  {
    current_password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX * 4 }),
    new_password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX * 4 }),
  },
  { additionalProperties: false },
);

const sessionRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { sessions, accounts, accessTokens } = services;
  const requireBearer = bearerAuth(accessTokens, accounts);
  const limited = rateLimitFor(services.config);

  app.addHook('onSend', noStore);

  app.get(
    '/sessions',
    {
      preHandler: requireBearer,
      schema: {
        summary: "The user's live sessions",
        response: { 200: Type.Object({ sessions: Type.Array(SessionBody) }), ...errorResponses },
      },
    },
    async (request) => {
      const { user, claims } = request.bearer!;
      const list = await sessions.list(user.id, claims.sid);
      return {
        sessions: list.map((s) => ({
          id: s.id,
          created: s.createdAt.toISOString(),
          last_used: s.lastUsedAt.toISOString(),
          expires: s.expiresAt.toISOString(),
          user_agent: s.userAgent,
          ip: s.ip,
          current: s.current,
        })),
      };
    },
  );

  app.delete(
    '/sessions/:id',
    {
      preHandler: requireBearer,
      schema: {
        summary: "End one of the user's own sessions",
        // Not format: uuid: a malformed id is just another session that isn't yours (404, not 400).
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { user } = request.bearer!;
      const { id } = request.params;
      const sessionId = id.toLowerCase();
      if (!isUuid(sessionId) || !(await sessions.revoke(user.id, sessionId, requestMeta(request)))) {
        throw new AppError('not_found', { detail: 'no such live session of this user' });
      }
      request.log.info({ event: 'session_revoked', userId: user.id, sessionId: id }, 'session revoked by its user');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/password',
    {
      // current_password is a password guess: the same per-address limit as login (and the same throttle).
      config: limited ? { rateLimit: limited } : {},
      preHandler: requireBearer,
      schema: {
        summary: 'Change the password; every other session ends',
        body: PasswordChange,
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { user, claims } = request.bearer!;
      await services.mfa.recentAuth.stepUp(user.id, claims);
      const { current_password: current, new_password: next } = request.body;
      const ended = await accounts.changePassword(user.id, claims.sid, current, next, requestMeta(request));
      request.log.info(
        { event: 'password_changed', userId: user.id, sessionId: claims.sid, ended },
        'password changed',
      );
      return reply.code(204).send(null);
    },
  );
};

export default sessionRoutes;
