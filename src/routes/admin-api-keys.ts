// /admin API keys: what a user does with their own keys (src/routes/api-keys.ts), for any user and for
// service clients (SERVICE_CLIENTS), which have no session to make keys with. Registered inside
// routes/admin.ts, so its hooks (cross-site refusal, rate limits, admin check, no-store) run here too; every
// change is audited with the admin as the actor. A user's key still can't exceed that user's roles.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requestMeta } from '../http/request-meta.js';
import { NoBody, errorResponses } from '../http/schemas.js';
import {
  ApiKeyList,
  ApiKeyOut,
  ApiKeyParams,
  NewApiKeyBody,
  NewApiKeyOut,
  RollBody,
  apiKeyOut,
} from '../http/api-key-schemas.js';
import type { Actor } from '../domain/actor.js';
import type { ApiKeyOwner } from '../domain/api-keys/api-keys.js';
import type { Services } from '../services.js';

const UserParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const ClientParams = Type.Object({ client_id: Type.String({ minLength: 1, maxLength: 64 }) });

const adminApiKeyRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { apiKeys } = services;
  const actor = (request: { adminActor: Actor | null }): Actor => request.adminActor!;

  for (const [path, params, ownerOf] of [
    ['/users/:id/api-keys', UserParams, (p: Record<string, string>) => ({ kind: 'user', userId: p.id! })],
    [
      '/service-clients/:client_id/api-keys',
      ClientParams,
      (p: Record<string, string>) => ({ kind: 'client', clientId: p.client_id! }),
    ],
  ] as const) {
    const owner = (request: { params: unknown }) => ownerOf(request.params as Record<string, string>) as ApiKeyOwner;
    app.post(
      path,
      {
        schema: {
          summary: 'Make an API key for this owner (scopes among its rights); the key is in this answer only',
          params,
          body: NewApiKeyBody,
          response: { 201: NewApiKeyOut, ...errorResponses },
        },
      },
      async (request, reply) => {
        const { name, scopes, expires_in } = request.body;
        const made = await apiKeys.create(
          owner(request),
          { name, scopes, expiresIn: expires_in },
          actor(request),
          requestMeta(request),
        );
        request.log.info({ event: 'api_key_created', apiKeyId: made.info.id }, 'api key created');
        return reply.code(201).send({ ...apiKeyOut(made.info), key: made.key });
      },
    );
    app.get(
      path,
      { schema: { summary: 'The API keys of this owner', params, response: { 200: ApiKeyList, ...errorResponses } } },
      async (request) => ({ api_keys: (await apiKeys.list(owner(request))).map(apiKeyOut) }),
    );
  }

  app.get(
    '/api-keys/:id',
    { schema: { summary: 'One API key', params: ApiKeyParams, response: { 200: ApiKeyOut, ...errorResponses } } },
    async (request) => apiKeyOut(await apiKeys.get(request.params.id)),
  );

  app.delete(
    '/api-keys/:id',
    {
      schema: {
        summary: 'Revoke an API key (at once, on every instance)',
        params: ApiKeyParams,
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      await apiKeys.revoke(request.params.id, undefined, actor(request), requestMeta(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api-keys/:id/roll',
    {
      schema: {
        summary: 'Replace an API key; the old one works for overlap_seconds more. The new key is in this answer only',
        params: ApiKeyParams,
        body: RollBody,
        response: { 201: NewApiKeyOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const made = await apiKeys.roll(
        request.params.id,
        undefined,
        { overlapSeconds: request.body.overlap_seconds ?? 0, expiresIn: request.body.expires_in },
        actor(request),
        requestMeta(request),
      );
      return reply.code(201).send({ ...apiKeyOut(made.info), key: made.key });
    },
  );
};

export default adminApiKeyRoutes;
