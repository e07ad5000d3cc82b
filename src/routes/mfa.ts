// /auth/mfa/*: a user's second factors, thin adapters over src/domain/mfa/. Enrol an authenticator app (TOTP),
// confirm it with a code, list and remove factors, make a new set of recovery codes. The second step of a
// sign-in (POST /auth/mfa/verify) sits with /auth/login in routes/auth.ts, where the refresh cookie is set.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { bearerAuth } from '../plugins/bearer-auth.js';
import { rateLimitFor } from '../plugins/rate-limit.js';
import { requestMeta } from '../http/request-meta.js';
import { NoBody, errorResponses } from '../http/schemas.js';
import { noStore } from '../http/no-store.js';
import type { Services } from '../services.js';
import { requireRecentSecondFactor } from '../domain/accounts/recent-auth.js';
import type { FactorSummary } from '../domain/mfa/factors.js';

const FactorBody = Type.Object({
  factor_id: Type.String({ format: 'uuid' }),
  type: Type.String({ description: '"totp" (passkeys are listed by GET /auth/passkeys).' }),
  label: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const FactorParams = Type.Object({ factor_id: Type.String({ maxLength: 64 }) });
const Code = Type.String({ minLength: 1, maxLength: 32, description: 'The 6-digit code the app shows.' });
const RecoveryCodesBody = Type.Object({
  codes: Type.Array(Type.String(), { description: 'Shown once: each works once. Earlier codes stop working.' }),
});

const factorBody = (f: FactorSummary) => ({
  factor_id: f.id,
  type: f.type,
  label: f.label,
  created_at: f.createdAt.toISOString(),
  last_used_at: f.lastUsedAt?.toISOString() ?? null,
});

const mfaRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts, accessTokens, clock } = services;
  const { factors, recoveryCodes } = services.mfa;
  const requireBearer = bearerAuth(accessTokens, accounts);
  const limited = rateLimitFor(services.config);
  const rateLimit = limited ? { rateLimit: limited } : {};
  const recentSeconds = services.config.recentLoginSeconds;

  // Secrets and recovery codes must never be stored by a cache.
  app.addHook('onSend', noStore);

  app.post(
    '/mfa/totp',
    {
      preHandler: requireBearer,
      config: { ...rateLimit },
      schema: {
        summary: 'Start adding an authenticator app (TOTP): its secret, otpauth:// URI and QR code (SVG)',
        description:
          'Needs a sign-in within RECENT_LOGIN_SECONDS, with a second factor when the account has one. The factor ' +
          'is active once POST /auth/mfa/totp/{factor_id}/confirm gets a valid code, within 10 minutes.',
        response: {
          201: Type.Object({
            factor_id: Type.String({ format: 'uuid' }),
            secret: Type.String({ description: 'Base32, for typing into the app by hand.' }),
            otpauth_uri: Type.String(),
            qr_svg: Type.String({ description: 'The otpauth URI as a QR code, an SVG document.' }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { user, claims } = request.bearer!;
      await services.mfa.recentAuth.recent(user.id, claims);
      const enrolment = await factors.enrolTotp(user.id, user.email);
      // Loaded on the first enrolment, not at boot (it and its PNG encoder are ~60 modules).
      const { default: QRCode } = await import('qrcode');
      const qr = await QRCode.toString(enrolment.uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      request.log.info({ event: 'mfa_enrol_started', userId: user.id, factorId: enrolment.factorId }, 'totp enrol');
      return reply.code(201).send({
        factor_id: enrolment.factorId,
        secret: enrolment.secret,
        otpauth_uri: enrolment.uri,
        qr_svg: qr,
      });
    },
  );

  app.post(
    '/mfa/totp/:factor_id/confirm',
    {
      preHandler: requireBearer,
      config: { ...rateLimit },
      schema: {
        summary: 'Activate an authenticator app with a code it shows; the first set of recovery codes comes with it',
        params: FactorParams,
        body: Type.Object({ code: Code }),
        response: {
          200: Type.Object({
            factor: FactorBody,
            recovery_codes: Type.Optional(
              Type.Array(Type.String(), { description: 'When the account had none: shown once.' }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { user, claims } = request.bearer!;
      const meta = requestMeta(request);
      await factors.confirmTotp(user.id, request.params.factor_id, request.body.code, meta, claims.sid);
      const factor = (await factors.list(user.id)).find((f) => f.id === request.params.factor_id)!;
      request.log.info({ event: 'mfa_factor_added', userId: user.id, factorId: factor.id }, 'factor added');
      const first = (await recoveryCodes.remaining(user.id)) === 0;
      return {
        factor: factorBody(factor),
        ...(first ? { recovery_codes: await recoveryCodes.regenerate(user.id, meta, claims.sid) } : {}),
      };
    },
  );

  app.get(
    '/mfa/factors',
    {
      preHandler: requireBearer,
      schema: {
        summary: 'The active second factors of the account',
        response: {
          200: Type.Object({
            factors: Type.Array(FactorBody),
            recovery_codes_remaining: Type.Integer(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { user } = request.bearer!;
      return {
        factors: (await factors.list(user.id)).map(factorBody),
        recovery_codes_remaining: await recoveryCodes.remaining(user.id),
      };
    },
  );

  app.delete(
    '/mfa/factors/:factor_id',
    {
      preHandler: requireBearer,
      config: { ...rateLimit },
      schema: {
        summary: 'Remove a second factor (needs a recent sign-in with a second factor)',
        params: FactorParams,
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { user, claims } = request.bearer!;
      await services.mfa.recentAuth.recent(user.id, claims);
      await factors.remove(user.id, request.params.factor_id, requestMeta(request), claims.sid);
      request.log.info({ event: 'mfa_factor_removed', userId: user.id }, 'factor removed');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/mfa/recovery-codes',
    {
      preHandler: requireBearer,
      config: { ...rateLimit },
      schema: {
        summary: 'A new set of 10 recovery codes (the earlier set stops working); needs a recent second-factor sign-in',
        response: { 200: RecoveryCodesBody, ...errorResponses },
      },
    },
    async (request) => {
      const { user, claims } = request.bearer!;
      // Always with a second factor: new codes are a second factor of their own.
      requireRecentSecondFactor(claims, true, clock.now(), recentSeconds);
      const codes = await recoveryCodes.regenerate(user.id, requestMeta(request), claims.sid);
      request.log.info({ event: 'mfa_recovery_codes_generated', userId: user.id }, 'recovery codes generated');
      return { codes };
    },
  );
};

export default mfaRoutes;
