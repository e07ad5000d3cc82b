// GET /oauth/assets/passkey-step.js: the static script of the sign-in's second-step page
// (src/http/passkey-step-script.ts), served from Tessera's own origin so the page's CSP can allow it by nonce.
// Registered only when passkeys are on (WEBAUTHN_RP_ID), the only time a page loads it.
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { PASSKEY_STEP_SCRIPT, PASSKEY_STEP_SCRIPT_PATH } from '../http/passkey-step-script.js';
import { errorResponses } from '../http/schemas.js';
import type { Services } from '../services.js';

const passkeyStepAssetRoutes: FastifyPluginAsync<{ services: Services }> = async (app, { services }) => {
  if (!services.passkeys) return;
  app.get(
    PASSKEY_STEP_SCRIPT_PATH,
    {
      schema: {
        summary: 'The script of the sign-in pages’ second step that lets a passkey answer (progressive enhancement)',
        response: { 200: Type.String({ description: 'JavaScript' }), ...errorResponses },
      },
    },
    async (_request, reply) =>
      reply
        .header('content-type', 'text/javascript; charset=utf-8')
        .header('x-content-type-options', 'nosniff')
        // Static for a release; a new release may change it, so an hour, then checked again.
        .header('cache-control', 'public, max-age=3600')
        .send(PASSKEY_STEP_SCRIPT),
  );
};

export default passkeyStepAssetRoutes;
