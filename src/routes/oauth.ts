// /oauth/*: RFC 7662 introspection and RFC 7009 revocation for registered service clients, authenticated
// by the same step as the token endpoint (a secret or private_key_jwt: src/http/client-auth.ts).
// Bodies are application/x-www-form-urlencoded as the RFCs say (JSON is accepted too).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { acceptForms } from '../http/form-body.js';
import { Type } from 'typebox';
import { authenticateServiceClient } from '../http/client-auth.js';
import { CLAIM_NAMES, CLAIM_TYPES } from '@tessera/verify/contract';
import { requireClientScope } from '../domain/authz/client-scopes.js';
import type { ServiceClient } from '../domain/tokens/service-clients.js';
import { requestMeta } from '../http/request-meta.js';
import { errorResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { noStore } from '../http/no-store.js';
import { looksLikeApiKey } from '../domain/api-keys/api-key-format.js';
import { apiKeyRateLimits } from '../plugins/api-key-rate-limit.js';

const MAX_TOKEN = 16 * 1024;

const TokenRequest = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: MAX_TOKEN }),
    // Only a hint (RFC 7662 §2.1): the token's own shape decides; unknown hints are ignored.
    token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
    client_id: Type.Optional(Type.String({ maxLength: 256 })),
    client_secret: Type.Optional(Type.String({ maxLength: 1024 })),
    client_assertion_type: Type.Optional(Type.String({ maxLength: 256 })),
    client_assertion: Type.Optional(Type.String({ maxLength: 8192 })),
  },
  // RFC 6749 §3.2: unknown parameters are ignored, not refused.
  { additionalProperties: true },
);

// The JSON schema of each claim type of the contract (@tessera/verify/contract).
const CLAIM_SCHEMAS = {
  string: Type.String(),
  number: Type.Integer(),
  boolean: Type.Boolean(),
  strings: Type.Array(Type.String()),
  audience: Type.Union([Type.String(), Type.Array(Type.String())]),
} as const;

/** RFC 7662 §2.2: active, token_type, and every claim Tessera issues (the contract's CLAIM_TYPES). */
export const IntrospectionBody = Type.Object(
  {
    active: Type.Boolean(),
    token_type: Type.Optional(Type.String()),
    ...Object.fromEntries(CLAIM_NAMES.map((name) => [name, Type.Optional(CLAIM_SCHEMAS[CLAIM_TYPES[name]])])),
  },
  { additionalProperties: false },
);

const oauthRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  await acceptForms(fastify);
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { introspection, clientAuthentication, apiKeyUse, config } = services;
  const keyLimits = apiKeyRateLimits(fastify, config.apiKeys);

  app.addHook('onSend', noStore);

  // The client is authenticated before the body is validated: a caller without credentials learns
  // nothing about the endpoint (401, not a 400 naming fields).
  const client = new WeakMap<object, ServiceClient>();
  app.addHook('preValidation', async (request, reply) => {
    client.set(request, await authenticateServiceClient(clientAuthentication, request, reply));
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
      const { token } = request.body;
      // An API key (docs/oauth-apps.md, "Server-to-server: API keys") is accepted directly, under its own limits.
      if (looksLikeApiKey(token)) await keyLimits.byAddress(request);
      const result = looksLikeApiKey(token)
        ? await apiKeyUse.introspect(token, config.issuer, (id) => keyLimits.byKey(request, id))
        : await introspection.introspect(token);
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
