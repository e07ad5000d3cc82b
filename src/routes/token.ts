// POST /oauth/token (RFC 6749 §3.2): authenticate the client, then hand the request to the grant module
// its grant_type names (src/domain/grants/registry.ts; today client_credentials, RFC 6749 §4.4). Client
// authentication (secret, private_key_jwt, or none for a public client) is one step, shared with
// introspection and revocation (src/http/client-auth.ts). It comes before body validation, so a caller
// without credentials learns nothing about the endpoint; the per-client rate limit counts the tokens a
// client gets, after it proved who it is (secrets are 256 random bits and assertions single-use, so failed
// guesses need no counter).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { acceptForms } from '../http/form-body.js';
import { Type } from 'typebox';
import { answerWithCurrentClient, authenticateEachRequest, perClientRateLimit } from '../http/client-auth.js';
import { errorResponses } from '../http/schemas.js';
import { requestMeta } from '../http/request-meta.js';
import type { TokenForm } from '../domain/grants/grant.js';
import type { Services } from '../services.js';
import { noStore } from '../http/no-store.js';
import { isApiKeyExchange } from '../domain/grants/token-exchange.js';
import { apiKeyRateLimits } from '../plugins/api-key-rate-limit.js';

const TokenRequest = Type.Object(
  {
    grant_type: Type.String({ minLength: 1, maxLength: 128 }),
    scope: Type.Optional(Type.String({ maxLength: 1024 })),
    // RFC 8707: the resource the token is for, within the grant (a repeated one is refused by the grant).
    resource: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Array(Type.String({ maxLength: 256 }))])),
    client_id: Type.Optional(Type.String({ maxLength: 256 })),
    client_secret: Type.Optional(Type.String({ maxLength: 1024 })),
    client_assertion_type: Type.Optional(Type.String({ maxLength: 256 })),
    client_assertion: Type.Optional(Type.String({ maxLength: 8192 })),
    // RFC 8693 token exchange (src/domain/grants/token-exchange.ts).
    subject_token: Type.Optional(Type.String({ maxLength: 1024 })),
    subject_token_type: Type.Optional(Type.String({ maxLength: 256 })),
  },
  // RFC 6749 §3.2: unknown parameters are ignored, not refused.
  { additionalProperties: true },
);

const TokenResponseBody = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer(),
    scope: Type.Optional(Type.String()),
    refresh_token: Type.Optional(Type.String()),
    id_token: Type.Optional(Type.String()),
    issued_token_type: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const tokenRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  await acceptForms(fastify);
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { grants, grantServices, clientAuthentication, clock, config } = services;

  app.addHook('onSend', noStore);

  // The grants re-check the client in their own statement, so the client may come from the short-lived copy.
  const clientOf = authenticateEachRequest(
    fastify,
    clientAuthentication,
    (request) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      // An API-key exchange needs no client credential: the key is one (RFC 8693 §2.1). One that is sent is checked.
      const bare =
        request.headers.authorization === undefined &&
        body.client_secret === undefined &&
        body.client_assertion === undefined &&
        body.client_assertion_type === undefined;
      return bare && isApiKeyExchange(body)
        ? clientAuthentication.keyHolder(typeof body.client_id === 'string' ? body.client_id : undefined)
        : undefined;
    },
    'cached',
  );

  // API keys: the per-address limit before the lookup, the per-key one once the key is known genuine.
  const keyLimits = apiKeyRateLimits(fastify, config.apiKeys);
  app.addHook('preHandler', async (request) => {
    if (isApiKeyExchange((request.body ?? {}) as Record<string, unknown>)) await keyLimits.byAddress(request);
  });

  app.post(
    '/token',
    {
      config: perClientRateLimit(
        config.tokenRateLimitPerMinute,
        (request) => {
          const client = clientOf(request);
          return `token|${client.kind === 'public' ? 'public:' : ''}${client.id}`;
        },
        // API-key exchanges are counted per key and per address instead (api-key-rate-limit.ts).
        (request) => isApiKeyExchange((request.body ?? {}) as Record<string, unknown>),
      ),
      schema: {
        summary:
          'RFC 6749 §3.2: tokens by the grant grant_type names (client_credentials, authorization_code, refresh_token, RFC 8693 token exchange of an API key)',
        body: TokenRequest,
        response: { 200: TokenResponseBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { response, log } = await answerWithCurrentClient(
        clientAuthentication,
        request,
        reply,
        clientOf(request),
        (client) =>
          grants.dispatch({
            form: request.body as TokenForm,
            client,
            services: grantServices,
            clock,
            meta: requestMeta(request),
            admitApiKey: (keyId) => keyLimits.byKey(request, keyId),
          }),
      );
      const { message, ...fields } = log;
      request.log.info(fields, message);
      return response;
    },
  );
};

export default tokenRoutes;
