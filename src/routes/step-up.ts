// Second factors beyond the TOTP code: the passkey options of a sign-in's second step, and step-up (RFC 9470)
// inside a session, thin adapters over src/domain/mfa/ (second-step.ts, step-up.ts). A step-up answers a fresh
// access token (auth_time now, acr "2") for the same session; the refresh cookie stays as it is, and its
// refreshes keep the raised level for STEP_UP_MAX_AGE_SECONDS (docs/step-up.md).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { DomainError } from '../domain/domain-error.js';
import { bearerAuth } from '../plugins/bearer-auth.js';
import { rateLimitFor } from '../plugins/rate-limit.js';
import { requestMeta } from '../http/request-meta.js';
import { noStore } from '../http/no-store.js';
import { TokenBody, errorResponses } from '../http/schemas.js';
import { ChallengeId, RequestOptions } from '../http/passkey-schemas.js';
import { proofOf, secondFactorBody } from '../http/second-factor-body.js';
import type { Services } from '../services.js';

const PasskeyOptionsBody = Type.Object({ challenge_id: ChallengeId, options: RequestOptions });

const stepUpRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts, accessTokens, tokenIssuer } = services;
  const { secondStep, stepUps } = services.mfa;
  const requireBearer = bearerAuth(accessTokens, accounts);
  const limited = rateLimitFor(services.config);
  const rateLimit = limited ? { rateLimit: limited } : {};

  app.addHook('onSend', noStore);

  app.post(
    '/mfa/passkey/options',
    {
      config: { ...rateLimit },
      schema: {
        summary: 'Passkey options for the second step of a sign-in: answer them in POST /auth/mfa/verify',
        description:
          'Only the user’s passkeys are offered; the challenge is bound to this mfa_token, lives 5 minutes and is ' +
          'spent by its first answer. Asking costs no attempt.',
        body: Type.Object(
          { mfa_token: Type.String({ minLength: 1, maxLength: 128 }) },
          { additionalProperties: false },
        ),
        response: { 200: PasskeyOptionsBody, ...errorResponses },
      },
    },
    async (request) => {
      const { challengeId, options } = await secondStep.passkeyOptions(request.body.mfa_token);
      return { challenge_id: challengeId, options };
    },
  );

  app.post(
    '/step-up/passkey/options',
    {
      preHandler: requireBearer,
      config: { ...rateLimit },
      schema: {
        summary: 'Passkey options for a step-up of this session: answer them in POST /auth/step-up',
        response: { 200: PasskeyOptionsBody, ...errorResponses },
      },
    },
    async (request) => {
      const { user, claims } = request.bearer!;
      const { challengeId, options } = await stepUps.passkeyOptions(user.id, claims.sid);
      return { challenge_id: challengeId, options };
    },
  );

  app.post(
    '/step-up',
    {
      preHandler: requireBearer,
      config: { ...rateLimit },
      schema: {
        summary: 'Step up (RFC 9470): prove a second factor, get an access token with a fresh auth_time and acr "2"',
        description:
          'For a 401 step_up_required (or insufficient_user_authentication from a resource service). Body: ' +
          '{factor_id, code}, {recovery_code}, or {challenge_id, response} for a passkey (POST ' +
          '/auth/step-up/passkey/options). Wrong answers share the sign-in’s one budget per account (429 ' +
          'mfa_locked). The session’s tokens, refreshed ones too, keep acr "2" for STEP_UP_MAX_AGE_SECONDS.',
        body: secondFactorBody({}),
        response: {
          200: Type.Object({ ...TokenBody.properties, recovery_codes_remaining: Type.Optional(Type.Integer()) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { user, claims } = request.bearer!;
      let stepped: Awaited<ReturnType<typeof stepUps.stepUp>>;
      try {
        stepped = await stepUps.stepUp(user.id, claims.sid, proofOf(request.body), requestMeta(request));
      } catch (err) {
        if (err instanceof DomainError)
          request.log.info({ event: 'step_up_failed', userId: user.id, code: err.code }, 'step-up refused');
        throw err;
      }
      request.log.info(
        { event: 'step_up', userId: user.id, sessionId: claims.sid, amr: stepped.session.stepUp?.amr },
        'step-up',
      );
      const tokens = await tokenIssuer.forSession(stepped.session);
      return {
        ...tokens,
        ...(stepped.recoveryCodesRemaining !== undefined
          ? { recovery_codes_remaining: stepped.recoveryCodesRemaining }
          : {}),
      };
    },
  );
};

export default stepUpRoutes;
