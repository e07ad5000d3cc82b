// POST /oauth/register: RFC 7591 dynamic client registration, for MCP clients and other apps Tessera has never
// seen. Registered only when DYNAMIC_REGISTRATION=true (off by default: an open registration endpoint is a
// choice). No credential is asked for (§3: open registration); what may be registered is narrowed by
// src/domain/oauth/dynamic-registration.ts, and each client address may register DYNAMIC_REGISTRATION_PER_HOUR
// clients an hour. Errors are RFC 7591 §3.2.2's `{ error, error_description }` (error-handler.ts).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errorResponses } from '../http/schemas.js';
import { noStore } from '../http/no-store.js';
import { requestMeta } from '../http/request-meta.js';
import type { Services } from '../services.js';

const Strings = (maxItems: number) => Type.Array(Type.String({ maxLength: 2000 }), { maxItems });

const RegistrationRequest = Type.Object(
  {
    redirect_uris: Type.Array(Type.String({ maxLength: 2000 }), { minItems: 1, maxItems: 20 }),
    client_name: Type.Optional(Type.String({ maxLength: 200 })),
    token_endpoint_auth_method: Type.Optional(Type.String({ maxLength: 64 })),
    grant_types: Type.Optional(Strings(5)),
    response_types: Type.Optional(Strings(5)),
    scope: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  // RFC 7591 §2: metadata the server does not understand is ignored (those only an admin may set are refused).
  { additionalProperties: true, maxProperties: 40 },
);

const RegistrationResponse = Type.Object(
  {
    client_id: Type.String(),
    client_id_issued_at: Type.Integer(),
    client_name: Type.String(),
    redirect_uris: Type.Array(Type.String()),
    token_endpoint_auth_method: Type.Literal('none'),
    grant_types: Type.Array(Type.String()),
    response_types: Type.Array(Type.String()),
    scope: Type.String(),
  },
  { additionalProperties: false },
);

const dynamicRegistrationRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { perHour } = services.config.dynamicRegistration;
  app.addHook('onSend', noStore);
  app.post(
    '/register',
    {
      config: perHour > 0 ? { rateLimit: { max: perHour, timeWindow: 3_600_000 } } : {},
      schema: {
        summary: 'RFC 7591 dynamic client registration of a public client (on when DYNAMIC_REGISTRATION=true)',
        body: RegistrationRequest,
        response: { 201: RegistrationResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const meta = requestMeta(request);
      const client = await services.dynamicRegistrations.register(request.body, meta);
      request.log.info({ event: 'oauth_client_registered', clientId: client.id, dynamic: true }, 'client registered');
      return reply.code(201).send({
        client_id: client.id,
        client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
        client_name: client.name,
        redirect_uris: client.redirectUris,
        token_endpoint_auth_method: 'none' as const,
        grant_types: client.grantTypes,
        response_types: ['code'],
        scope: client.scopes.join(' '),
      });
    },
  );
};

export default dynamicRegistrationRoutes;
