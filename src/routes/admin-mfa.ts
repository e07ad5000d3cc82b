// /admin/users/{id}/mfa: an administrator resets a user's second factors (src/domain/mfa/factor-reset.ts), the
// way back for a user who lost the authenticator, the passkeys and the recovery codes. Registered inside routes/admin.ts,
// so its hooks (cross-site refusal, rate limits, the admin check, no-store) run here too. Audited with the admin
// as the actor, and the user is emailed.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requestMeta } from '../http/request-meta.js';
import { errorResponses } from '../http/schemas.js';
import type { Actor } from '../domain/actor.js';
import type { Services } from '../services.js';

const UserParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

const adminMfaRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { reset } = services.mfa;
  const actor = (request: { adminActor: Actor | null }): Actor => request.adminActor!;

  app.delete(
    '/users/:id/mfa',
    {
      schema: {
        summary: "Reset the user's second factors: authenticator apps, passkeys, recovery codes and the failure count",
        description:
          'One transaction removes every second factor, passkeys included, and ends every session of the user; ' +
          'the user is emailed and signs in again with the password (or a provider, or the emailed password ' +
          'reset when neither is left). Audited as mfa_factors_reset. Not for the caller’s own account ' +
          '(403 mfa_reset_own_account): use DELETE /auth/mfa/factors/{factor_id}.',
        params: UserParams,
        response: {
          200: Type.Object({
            factors_removed: Type.Integer({ description: 'Active factors removed.' }),
            passkeys_removed: Type.Integer({ description: 'Passkeys removed.' }),
            sessions_ended: Type.Integer({ description: 'Live sessions of the user ended.' }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const done = await reset.reset(request.params.id, actor(request), requestMeta(request));
      request.log.info(
        { event: 'mfa_factors_reset', userId: request.params.id, factors: done.factors, passkeys: done.passkeys },
        'second factors reset by an admin',
      );
      return { factors_removed: done.factors, passkeys_removed: done.passkeys, sessions_ended: done.sessions };
    },
  );
};

export default adminMfaRoutes;
