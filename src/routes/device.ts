// The verification page of the device authorization grant (RFC 8628 §3.3), GET /oauth/device: the user, signed in
// with the browser session of /oauth/authorize (or signing in here first, then coming back to the same page),
// enters the code their device shows, sees what is asking (the client, the scopes, the device's address, user
// agent and age), and approves or denies it. Every entry of a code is counted before it is looked up, per
// browser session and per address (src/domain/oauth/device-guesses.ts); the decision names the request by an
// id only a correct entry reveals, so it is no second way to guess. Each form carries the CSRF token.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { acceptForms } from '../http/form-body.js';
import { errorCatalog } from '../errors.js';
import { errorResponses } from '../http/schemas.js';
import { requestMeta } from '../http/request-meta.js';
import { errorPage, loginPage } from '../http/pages.js';
import { deviceConfirmPage, deviceDonePage, deviceEntryPage } from '../http/device-pages.js';
import { csrfHolds, csrfToken } from './page-csrf.js';
import { BROWSER_SESSION_COOKIE } from '../http/password-sign-in.js';
import { signInStepRoutes } from './sign-in-steps.js';
import { normaliseUserCode } from '../domain/oauth/user-codes.js';
import type { BrowserSession } from '../domain/oauth/browser-sessions.js';
import type { Services } from '../services.js';

const Field = Type.Optional(Type.String({ maxLength: 1024 }));
const DeviceForm = Type.Object(
  {
    csrf: Field,
    user_code: Field,
    email: Field,
    password: Field,
    device_id: Field,
    decision: Field,
    mfa_token: Field,
    factor_id: Field,
    code: Field,
    recovery_code: Field,
    passkey_challenge_id: Field,
    passkey_response: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { additionalProperties: true },
);
const Html = Type.String({ description: 'An HTML page' });
const pageResponses = { 200: Html, 400: Html, 401: Html, 403: Html, 429: Html, ...errorResponses };

const deviceRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  await acceptForms(fastify);
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { config, oauth, clock } = services;
  const ownOrigin = new URL(config.issuer).origin;
  const refuseCsrf = (reply: FastifyReply) =>
    errorPage(reply, 'csrf_rejected', errorCatalog.csrf_rejected.message, 403);

  const signInPage = (
    request: FastifyRequest,
    reply: FastifyReply,
    userCode: string,
    email = '',
    error?: { message: string; status: number },
  ) =>
    loginPage(reply, {
      clientName: 'your device',
      action: '/oauth/device/login',
      fields: { csrf: csrfToken(request, reply), ...(userCode ? { user_code: userCode } : {}) },
      email,
      ...(error ? { error: error.message, status: error.status } : {}),
    });

  const entryPage = (
    request: FastifyRequest,
    reply: FastifyReply,
    userCode: string,
    error?: { message: string; status: number },
  ) =>
    deviceEntryPage(reply, {
      fields: { csrf: csrfToken(request, reply) },
      userCode,
      ...(error ? { error: error.message, status: error.status } : {}),
    });

  const session = (request: FastifyRequest): Promise<BrowserSession | null> =>
    oauth.browserSessions.open(request.cookies[BROWSER_SESSION_COOKIE]);

  app.get(
    '/device',
    {
      schema: {
        summary: 'RFC 8628 §3.3: the verification page (user_code prefills the form; approval is always explicit)',
        querystring: Type.Object({ user_code: Field }, { additionalProperties: true }),
        response: pageResponses,
      },
    },
    async (request, reply) => {
      const typed = request.query.user_code ?? '';
      if (!(await session(request))) return signInPage(request, reply, typed);
      return entryPage(request, reply, typed);
    },
  );

  // The sign-in before the code form (the password, then a second factor): sign-in-steps.ts, as for /oauth/authorize.
  signInStepRoutes<{ userCode: string }>(app, services, {
    base: '/device',
    name: 'verification page',
    body: DeviceForm,
    response: pageResponses,
    begin: async (request, reply, body) =>
      csrfHolds(request, ownOrigin, body.csrf)
        ? { ctx: { userCode: typeof body.user_code === 'string' ? body.user_code : '' } }
        : { sent: refuseCsrf(reply) },
    frame: (request, reply, { userCode }) => ({
      clientName: 'your device',
      fields: { csrf: csrfToken(request, reply), ...(userCode ? { user_code: userCode } : {}) },
    }),
    signedIn: async (request, reply, { userCode }) => entryPage(request, reply, userCode),
  });

  app.post(
    '/device',
    {
      schema: {
        summary: 'The code form posts here (CSRF token required): shows what the device asks for',
        body: DeviceForm,
        response: pageResponses,
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!csrfHolds(request, ownOrigin, body.csrf)) return refuseCsrf(reply);
      const typed = body.user_code ?? '';
      const signedIn = await session(request);
      if (!signedIn) return signInPage(request, reply, typed);
      const verdict = await oauth.deviceGuesses.attempt(signedIn.sessionId, request.ip);
      if (!verdict.allowed) {
        request.log.info({ event: 'device_code_throttled', userId: signedIn.userId }, 'user code entries throttled');
        reply.header('retry-after', String(verdict.retryAfter));
        return entryPage(request, reply, '', { message: errorCatalog.too_many_requests.message, status: 429 });
      }
      const code = normaliseUserCode(typed);
      const pending = code ? await oauth.devices.pending(code) : null;
      if (!code || !pending) {
        request.log.info({ event: 'device_code_unknown', userId: signedIn.userId }, 'unknown user code entered');
        return entryPage(request, reply, typed, { message: errorCatalog.user_code_invalid.message, status: 400 });
      }
      return deviceConfirmPage(reply, {
        fields: { csrf: csrfToken(request, reply), device_id: pending.id },
        clientName: pending.clientName,
        scopes: pending.scope,
        userCode: code,
        ip: pending.ip,
        userAgent: pending.userAgent,
        ageSeconds: Math.max(0, Math.floor((clock.now().getTime() - pending.createdAt.getTime()) / 1000)),
      });
    },
  );

  app.post(
    '/device/decision',
    {
      schema: {
        summary: 'The confirmation page posts here (CSRF token required): approve or deny the device',
        body: DeviceForm,
        response: pageResponses,
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!csrfHolds(request, ownOrigin, body.csrf)) return refuseCsrf(reply);
      const signedIn = await session(request);
      if (!signedIn) return signInPage(request, reply, '');
      const approve = body.decision === 'approve';
      if (!approve && body.decision !== 'deny')
        return entryPage(request, reply, '', { message: 'Choose Approve or Deny.', status: 400 });
      const decided = await oauth.devices.decide(
        body.device_id ?? '',
        approve,
        { userId: signedIn.userId, browserSessionId: signedIn.sessionId },
        requestMeta(request),
      );
      if (!decided)
        return entryPage(request, reply, '', { message: errorCatalog.user_code_invalid.message, status: 400 });
      // The approval is the user's consent: connected apps list the device's client with what it may do.
      if (approve)
        await oauth.consents.remember(signedIn.userId, decided.clientId, decided.scope, requestMeta(request));
      request.log.info(
        {
          event: approve ? 'oauth_device_approved' : 'oauth_device_denied',
          userId: signedIn.userId,
          clientId: decided.clientId,
        },
        'device decided',
      );
      return deviceDonePage(reply, { clientName: decided.clientName, approved: approve });
    },
  );
};

export default deviceRoutes;
