// /auth/password/forgot, /auth/password/reset, /auth/verify-email, /auth/email/*: the email flows (issue 11), registered only
// when EMAIL_FLOWS is on. Forgot-password answers 202 with one fixed body whatever the address; the domain
// makes the work (and so the time) the same too. Every endpoint is limited per client address (the shared
// rate-limit plugin) and, where it sends mail, per target address (src/domain/mail/send-limit.ts).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PASSWORD_MAX } from '../domain/accounts/passwords.js';
import { EMAIL_TOKEN_PATTERN } from '../domain/recovery/email-tokens.js';
import { bearerAuth } from '../plugins/bearer-auth.js';
import { rateLimitFor } from '../plugins/rate-limit.js';
import { requestMeta } from '../http/request-meta.js';
import { NoBody, errorResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { noStore } from '../http/no-store.js';

const Accepted = Type.Object({ status: Type.Literal('accepted'), message: Type.String() });
/** The 202 of a request whose email goes out through the outbox: what happens next, in words for the user. */
const accepted = (message: string) => ({ status: 'accepted' as const, message });
const ACCEPTED = accepted('If an account uses this address, a link to reset its password is on its way.');
const VERIFICATION_SENT = accepted('A new verification link is on its way to your address.');
// The same words whether or not the new address is free: a taken address is told by email instead.
const CHANGE_SENT = accepted('If the new address can be used, a link to confirm it is on its way to it.');
const EmailToken = Type.String({ pattern: EMAIL_TOKEN_PATTERN });

const recoveryRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const recovery = services.recovery;
  if (!recovery) return;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const limited = rateLimitFor(services.config);
  const rateLimit = limited ? { rateLimit: limited } : {};
  const requireBearer = bearerAuth(services.accessTokens, services.accounts);

  app.addHook('onSend', noStore);

  app.post(
    '/password/forgot',
    {
      config: { ...rateLimit },
      schema: {
        summary: 'Email a password-reset link; the same 202 whether or not the address has an account',
        body: Type.Object({ email: Type.String({ minLength: 1, maxLength: 320 }) }, { additionalProperties: false }),
        response: { 202: Accepted, ...errorResponses },
      },
    },
    async (request, reply) => {
      await recovery.passwordReset.request(request.body.email, requestMeta(request));
      return reply.code(202).send(ACCEPTED);
    },
  );

  app.post(
    '/password/reset',
    {
      config: { ...rateLimit },
      schema: {
        summary: 'Set a new password with the token from the emailed link; ends every session',
        body: Type.Object(
          { token: EmailToken, new_password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX * 4 }) },
          { additionalProperties: false },
        ),
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { userId, ended } = await recovery.passwordReset.reset(
        request.body.token,
        request.body.new_password,
        requestMeta(request),
      );
      request.log.info({ event: 'password_reset', userId, ended }, 'password reset');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/verify-email/request',
    {
      preHandler: requireBearer,
      config: { ...rateLimit },
      schema: {
        summary: 'Email a new verification link to the signed-in user',
        response: { 202: Accepted, ...errorResponses },
      },
    },
    async (request, reply) => {
      await recovery.verification.request(request.bearer!.user.id, requestMeta(request));
      return reply.code(202).send(VERIFICATION_SENT);
    },
  );

  app.post(
    '/verify-email',
    {
      config: { ...rateLimit },
      schema: {
        summary: 'Confirm the address with the token from the emailed link',
        body: Type.Object({ token: EmailToken }, { additionalProperties: false }),
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { userId } = await recovery.verification.confirm(request.body.token, requestMeta(request));
      request.log.info({ event: 'email_verified', userId }, 'email verified');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/email/change',
    {
      preHandler: requireBearer,
      config: { ...rateLimit },
      schema: {
        summary: 'Ask to change the address: a confirmation link to the new one, a notice to the old one',
        body: Type.Object(
          {
            new_email: Type.String({ minLength: 1, maxLength: 320 }),
            current_password: Type.Optional(Type.String({ minLength: 1, maxLength: PASSWORD_MAX * 4 })),
          },
          { additionalProperties: false },
        ),
        response: { 202: Accepted, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { user, claims } = request.bearer!;
      await services.mfa.recentAuth.stepUp(user.id, claims);
      await recovery.emailChange.request(
        {
          userId: user.id,
          sessionId: claims.sid,
          authTime: claims.auth_time,
          newEmail: request.body.new_email,
          currentPassword: request.body.current_password,
        },
        requestMeta(request),
      );
      return reply.code(202).send(CHANGE_SENT);
    },
  );

  app.post(
    '/email/confirm',
    {
      config: { ...rateLimit },
      schema: {
        summary: 'Confirm the new address with the emailed token: the address changes',
        body: Type.Object({ token: EmailToken }, { additionalProperties: false }),
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { userId } = await recovery.emailChange.confirm(request.body.token, requestMeta(request));
      request.log.info({ event: 'email_changed', userId }, 'email changed');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/email/undo',
    {
      config: { ...rateLimit },
      schema: {
        summary: 'Undo an address change with the token sent to the old address; ends every session',
        body: Type.Object({ token: EmailToken }, { additionalProperties: false }),
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { userId, ended } = await recovery.emailChange.undo(request.body.token, requestMeta(request));
      request.log.info({ event: 'email_change_undone', userId, ended }, 'email change undone');
      return reply.code(204).send(null);
    },
  );
};

export default recoveryRoutes;
