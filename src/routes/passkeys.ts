// /auth/passkeys/*: thin HTTP adapters over src/domain/passkeys/. Registered only when WEBAUTHN_RP_ID is set.
// Each ceremony is two calls: options (the challenge stays here, under the challenge_id they carry), then verify
// (the authenticator's answer with that challenge_id). No cookie carries the challenge: the SPA may be on another
// site. A passkey sign-in starts a session like a password does (session-lifecycle.ts), with the refresh cookie.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { bearerAuth } from '../plugins/bearer-auth.js';
import { rateLimitFor } from '../plugins/rate-limit.js';
import { requestMeta } from '../http/request-meta.js';
import { otherSchemeOf, setRefreshCookie } from '../http/refresh-cookie.js';
import { NoBody, TokenBody, errorResponses } from '../http/schemas.js';
import {
  AuthenticationResponse,
  ChallengeId,
  CreationOptions,
  Label,
  PasskeyBody,
  RegistrationResponse,
  RequestOptions,
} from '../http/passkey-schemas.js';
import { noStore } from '../http/no-store.js';
import type { PasskeyView } from '../domain/passkeys/passkeys.js';
import type { Services } from '../services.js';

const passkeyBody = (p: PasskeyView) => ({
  id: p.id,
  label: p.label,
  sign_count: p.signCount,
  transports: p.transports,
  device_type: p.deviceType,
  backed_up: p.backedUp,
  user_verified: p.userVerified,
  created_at: p.createdAt.toISOString(),
  last_used_at: p.lastUsedAt ? p.lastUsedAt.toISOString() : null,
});

const PasskeyParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

const passkeyRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const passkeys = services.passkeys;
  if (!passkeys) return;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts, accessTokens, lifecycle, tokenIssuer, clock } = services;
  const { cookieDomain } = services.config;
  const limited = rateLimitFor(services.config);
  const rateLimit = limited ? { rateLimit: limited } : {};
  const requireBearer = bearerAuth(accessTokens, accounts);

  app.addHook('onSend', noStore);

  app.post(
    '/passkeys/registration/options',
    {
      preHandler: requireBearer,
      config: { ...rateLimit },
      schema: {
        summary:
          'Start adding a passkey (sign-in at most RECENT_LOGIN_SECONDS old): options for navigator.credentials.create()',
        response: { 200: Type.Object({ challenge_id: ChallengeId, options: CreationOptions }), ...errorResponses },
      },
    },
    async (request) => {
      const { user, claims } = request.bearer!;
      // A stolen access token must not be able to plant a lasting way in: a recent sign-in, with a second
      // factor when the account has one (recent-auth.ts).
      await services.mfa.recentAuth.recent(user.id, claims);
      const { challengeId, options } = await passkeys.registry.registrationOptions(user.id);
      return { challenge_id: challengeId, options };
    },
  );

  app.post(
    '/passkeys/registration/verify',
    {
      preHandler: requireBearer,
      config: { ...rateLimit },
      schema: {
        summary: 'Finish adding a passkey: the authenticator’s answer to the options of challenge_id',
        body: Type.Object({
          challenge_id: ChallengeId,
          response: RegistrationResponse,
          label: Type.Optional(Label),
        }),
        response: { 201: Type.Object({ passkey: PasskeyBody }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { user, claims } = request.bearer!;
      await services.mfa.recentAuth.recent(user.id, claims);
      const { challenge_id, response, label } = request.body;
      const added = await passkeys.registry.register(
        user.id,
        challenge_id,
        response as unknown as RegistrationResponseJSON,
        label,
        requestMeta(request),
      );
      request.log.info({ event: 'passkey_added', userId: user.id, passkeyId: added.id }, 'passkey added');
      return reply.code(201).send({ passkey: passkeyBody(added) });
    },
  );

  app.post(
    '/passkeys/sign-in/options',
    {
      config: { ...rateLimit },
      schema: {
        summary: 'Start a passkey sign-in (usernameless): options for navigator.credentials.get()',
        body: Type.Object({
          user_verification: Type.Optional(
            Type.Union([Type.Literal('required'), Type.Literal('preferred')], {
              description:
                'required: only an answer where the authenticator verified the user (two factors) is accepted. Default preferred.',
            }),
          ),
        }),
        response: { 200: Type.Object({ challenge_id: ChallengeId, options: RequestOptions }), ...errorResponses },
      },
    },
    async (request) => {
      const uv = request.body.user_verification ?? 'preferred';
      const { challengeId, options } = await passkeys.assertions.options(uv);
      return { challenge_id: challengeId, options };
    },
  );

  app.post(
    '/passkeys/sign-in/verify',
    {
      config: { outcomeMetric: 'login', ...rateLimit },
      schema: {
        summary: 'Finish a passkey sign-in: access token in the body, refresh token in an HttpOnly cookie',
        body: Type.Object({ challenge_id: ChallengeId, response: AuthenticationResponse }),
        response: { 200: TokenBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const meta = requestMeta(request);
      let verified: Awaited<ReturnType<typeof passkeys.assertions.signIn>>;
      try {
        verified = await passkeys.assertions.signIn(
          request.body.challenge_id,
          request.body.response as unknown as AuthenticationResponseJSON,
          meta,
        );
      } catch (err) {
        request.outcome = 'failed';
        request.log.info({ event: 'login_failed', method: 'passkey' }, 'passkey sign-in failed');
        throw err;
      }
      const issued = await lifecycle.start(
        verified.userId,
        { kind: 'passkey', synced: verified.synced, userVerified: verified.userVerified },
        meta,
      );
      request.log.info(
        { event: 'login_ok', method: 'passkey', userId: issued.userId, sessionId: issued.sessionId },
        'login',
      );
      const body = await tokenIssuer.forSession(issued);
      setRefreshCookie(
        reply,
        issued.refreshToken,
        issued.refreshExpiresAt,
        clock.now(),
        cookieDomain,
        otherSchemeOf(request, cookieDomain),
      );
      request.outcome = 'ok';
      return body;
    },
  );

  app.get(
    '/passkeys',
    {
      preHandler: requireBearer,
      schema: {
        summary: 'List your passkeys',
        response: { 200: Type.Object({ passkeys: Type.Array(PasskeyBody) }), ...errorResponses },
      },
    },
    async (request) => ({ passkeys: (await passkeys.registry.list(request.bearer!.user.id)).map(passkeyBody) }),
  );

  app.patch(
    '/passkeys/:id',
    {
      preHandler: requireBearer,
      schema: {
        summary: 'Rename one of your passkeys',
        params: PasskeyParams,
        body: Type.Object({ label: Label }),
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      await passkeys.registry.rename(
        request.bearer!.user.id,
        request.params.id,
        request.body.label,
        requestMeta(request),
      );
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/passkeys/:id',
    {
      preHandler: requireBearer,
      schema: {
        summary: 'Remove one of your passkeys (not the last way to sign in: last_login_method)',
        params: PasskeyParams,
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { user, claims } = request.bearer!;
      const userId = user.id;
      await services.mfa.recentAuth.stepUp(userId, claims);
      await passkeys.registry.remove(userId, request.params.id, requestMeta(request));
      request.log.info({ event: 'passkey_removed', userId, passkeyId: request.params.id }, 'passkey removed');
      return reply.code(204).send(null);
    },
  );
};

export default passkeyRoutes;
