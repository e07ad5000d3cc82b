// /oauth/*: RFC 7662 introspection and RFC 7009 revocation for registered service clients.
// Bodies are application/x-www-form-urlencoded as the RFCs say (JSON is accepted too).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import formBody from '@fastify/formbody';
import { parse } from 'fast-querystring';
import { Type } from 'typebox';
import { authenticateClient } from '../http/client-auth.js';
import { requireClientScope } from '../domain/authz/client-scopes.js';
import type { ServiceClient } from '../domain/tokens/service-clients.js';
import { requestMeta } from '../http/request-meta.js';
import { assertNoReplacementCharacter } from '../http/utf8.js';
import { errorResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { noStore } from '../http/no-store.js';

const MAX_TOKEN = 16 * 1024;

const TokenRequest = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: MAX_TOKEN }),
    // Only a hint (RFC 7662 §2.1): the token's own shape decides; unknown hints are ignored.
    token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
    client_id: Type.Optional(Type.String({ maxLength: 256 })),
    client_secret: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  // RFC 6749 §3.2: unknown parameters are ignored, not refused.
  { additionalProperties: true },
);

const IntrospectionBody = Type.Object(
  {
    active: Type.Boolean(),
    token_type: Type.Optional(Type.String()),
    iss: Type.Optional(Type.String()),
    sub: Type.Optional(Type.String()),
    sid: Type.Optional(Type.String()),
    aud: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    jti: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    auth_time: Type.Optional(Type.Integer()),
    roles: Type.Optional(Type.Array(Type.String())),
    scope: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const oauthRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  await fastify.register(formBody, {
    bodyLimit: 16 * 1024,
    // formbody hands over the body already decoded, invalid bytes as U+FFFD: refuse those (percent-encoded
    // invalid sequences stay literal "%FF" and collide with nothing).
    parser: (body) => {
      assertNoReplacementCharacter(body);
      return parse(body);
    },
  });
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { introspection, serviceClients } = services;

  app.addHook('onSend', noStore);

  // The client is authenticated before the body is validated: a caller without credentials learns
  // nothing about the endpoint (401, not a 400 naming fields).
  const client = new WeakMap<object, ServiceClient>();
  app.addHook('preValidation', async (request, reply) => {
    client.set(request, authenticateClient(serviceClients, request, reply));
  });

  app.post(
    '/introspect',
    {
      schema: {
        summary: 'RFC 7662: is this token active? (service clients only)',
        body: TokenRequest,
        response: { 200: IntrospectionBody, ...errorResponses },
      },
    },
    async (request) => {
      requireClientScope(client.get(request)!, 'introspect');
      const result = await introspection.introspect(request.body.token);
      request.log.info(
        { event: 'introspect', clientId: client.get(request)!.id, active: result.active },
        'introspection',
      );
      return result;
    },
  );

  app.post(
    '/revoke',
    {
      schema: {
        summary: 'RFC 7009: end the session behind a token (service clients only)',
        body: TokenRequest,
        response: { 200: Type.Object({}, { additionalProperties: false }), ...errorResponses },
      },
    },
    async (request) => {
      const { id } = requireClientScope(client.get(request)!, 'revoke');
      const ended = await introspection.revoke(request.body.token, id, requestMeta(request));
      request.log.info({ event: 'token_revoked', clientId: id, ended }, 'revocation');
      return {};
    },
  );
};

export default oauthRoutes;
