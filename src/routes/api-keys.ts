// /auth/api-keys: a signed-in user's personal API keys (create, list, revoke, roll), and the leak report
// anyone may send. Thin adapters over src/domain/api-keys/api-keys.ts, which checks scopes against the user's
// roles and writes the audit rows. A key is in the answer that made it (201), never again.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { bearerAuth } from '../plugins/bearer-auth.js';
import { rateLimitFor } from '../plugins/rate-limit.js';
import { requestMeta } from '../http/request-meta.js';
import { NoBody, errorResponses } from '../http/schemas.js';
import { ApiKeyList, ApiKeyParams, NewApiKeyBody, NewApiKeyOut, RollBody, apiKeyOut } from '../http/api-key-schemas.js';
import type { Services } from '../services.js';
import { noStore } from '../http/no-store.js';

const apiKeyRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { apiKeys, accounts, accessTokens } = services;
  const requireBearer = bearerAuth(accessTokens, accounts);
  const limited = rateLimitFor(services.config);
  const mine = (request: { bearer: { user: { id: string } } | null }) => ({
    kind: 'user' as const,
    userId: request.bearer!.user.id,
  });
  const actor = (request: { bearer: { user: { id: string } } | null }) => ({
    kind: 'user' as const,
    id: request.bearer!.user.id,
  });

  app.addHook('onSend', noStore);

  app.post(
    '/api-keys',
    {
      preHandler: requireBearer,
      ...(limited ? { config: { rateLimit: limited } } : {}),
      schema: {
        summary: 'Make a personal API key (scopes among your roles); the key is in this answer only',
        body: NewApiKeyBody,
        response: { 201: NewApiKeyOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { user, claims } = request.bearer!;
      await services.mfa.recentAuth.stepUp(user.id, claims);
      const { name, scopes, expires_in } = request.body;
      const made = await apiKeys.create(
        mine(request),
        { name, scopes, expiresIn: expires_in },
        actor(request),
        requestMeta(request),
      );
      request.log.info({ event: 'api_key_created', apiKeyId: made.info.id }, 'api key created');
      return reply.code(201).send({ ...apiKeyOut(made.info), key: made.key });
    },
  );

  app.get(
    '/api-keys',
    {
      preHandler: requireBearer,
      schema: {
        summary: 'Your API keys (never the keys themselves)',
        response: { 200: ApiKeyList, ...errorResponses },
      },
    },
    async (request) => ({ api_keys: (await apiKeys.list(mine(request))).map(apiKeyOut) }),
  );

  app.delete(
    '/api-keys/:id',
    {
      preHandler: requireBearer,
      schema: {
        summary: 'Revoke one of your API keys (at once, on every instance)',
        params: ApiKeyParams,
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      await apiKeys.revoke(request.params.id, mine(request), actor(request), requestMeta(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api-keys/:id/roll',
    {
      preHandler: requireBearer,
      schema: {
        summary:
          'Replace one of your API keys; the old one works for overlap_seconds more. The new key is in this answer only',
        params: ApiKeyParams,
        body: RollBody,
        response: { 201: NewApiKeyOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { user, claims } = request.bearer!;
      await services.mfa.recentAuth.stepUp(user.id, claims);
      const made = await apiKeys.roll(
        request.params.id,
        mine(request),
        { overlapSeconds: request.body.overlap_seconds ?? 0, expiresIn: request.body.expires_in },
        actor(request),
        requestMeta(request),
      );
      return reply.code(201).send({ ...apiKeyOut(made.info), key: made.key });
    },
  );

  app.post(
    '/api-keys/report-leak',
    {
      ...(limited ? { config: { rateLimit: limited } } : {}),
      schema: {
        summary:
          'Report an exposed API key (anyone may): a genuine key is revoked and its owner emailed; the answer is the same either way',
        body: Type.Object({ key: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
        response: { 202: Type.Object({}, { additionalProperties: false }), ...errorResponses },
      },
    },
    async (request, reply) => {
      await apiKeys.reportLeak(request.body.key, requestMeta(request));
      return reply.code(202).send({});
    },
  );
};

export default apiKeyRoutes;
