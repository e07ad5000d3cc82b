// POST /oauth/token: the client_credentials grant (RFC 6749 §4.4) for registered service clients.
// The client authenticates with its secret (client_secret_basic / client_secret_post, as for
// introspection) or with a signed assertion (private_key_jwt, RFC 7523). No refresh token is issued: a
// service asks again. Authentication comes before body validation, so a caller without credentials learns
// nothing about the endpoint; the per-client rate limit counts the tokens a client gets, after it proved
// who it is (secrets are 256 random bits and assertions single-use, so failed guesses need no counter).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import formBody from '@fastify/formbody';
import { parse } from 'fast-querystring';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { authenticateClient } from '../http/client-auth.js';
import { assertNoReplacementCharacter } from '../http/utf8.js';
import { errorResponses } from '../http/schemas.js';
import { requestMeta } from '../http/request-meta.js';
import { audit } from '../domain/audit.js';
import { ASSERTION_TYPE, AssertionRefused } from '../domain/authz/client-assertions.js';
import { grantedScopes } from '../domain/tokens/client-tokens.js';
import type { ServiceClient } from '../domain/tokens/service-clients.js';
import type { Services } from '../services.js';
import { noStore } from '../http/no-store.js';

const TokenRequest = Type.Object(
  {
    grant_type: Type.String({ minLength: 1, maxLength: 128 }),
    scope: Type.Optional(Type.String({ maxLength: 1024 })),
    client_id: Type.Optional(Type.String({ maxLength: 256 })),
    client_secret: Type.Optional(Type.String({ maxLength: 1024 })),
    client_assertion_type: Type.Optional(Type.String({ maxLength: 256 })),
    client_assertion: Type.Optional(Type.String({ maxLength: 8192 })),
  },
  // RFC 6749 §3.2: unknown parameters are ignored, not refused.
  { additionalProperties: true },
);

const ClientTokenBody = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer(),
    scope: Type.String(),
  },
  { additionalProperties: false },
);

const tokenRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  await fastify.register(formBody, {
    bodyLimit: 16 * 1024,
    parser: (body) => {
      assertNoReplacementCharacter(body);
      return parse(body);
    },
  });
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { serviceClients, clientAssertions, clientTokens, clock, config } = services;

  app.addHook('onSend', noStore);

  const clients = new WeakMap<object, ServiceClient>();
  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<ServiceClient> {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (body.client_assertion === undefined && body.client_assertion_type === undefined)
      return authenticateClient(serviceClients, request, reply);
    // private_key_jwt: the assertion is the only credential (one method per request).
    const refuse = (detail: string) => new AppError('invalid_client', { detail });
    if (request.headers.authorization !== undefined || body.client_secret !== undefined) {
      throw new AppError('invalid_request', { message: 'Use one client authentication method, not two.' });
    }
    if (body.client_assertion_type !== ASSERTION_TYPE || typeof body.client_assertion !== 'string')
      throw refuse('bad client_assertion_type');
    const clientId = typeof body.client_id === 'string' ? body.client_id : undefined;
    try {
      return await clientAssertions.authenticate(clientId, body.client_assertion);
    } catch (err) {
      if (err instanceof AssertionRefused) throw refuse(`client assertion refused: ${err.message}`);
      throw err;
    }
  }
  app.addHook('preValidation', async (request, reply) => {
    clients.set(request, await authenticate(request, reply));
  });

  const perMinute = config.tokenRateLimitPerMinute;
  app.post(
    '/token',
    {
      config:
        perMinute > 0
          ? {
              rateLimit: {
                max: perMinute,
                timeWindow: 60_000,
                hook: 'preHandler',
                keyGenerator: (request: FastifyRequest) => `token|${clients.get(request)!.id}`,
              },
            }
          : {},
      schema: {
        summary: 'RFC 6749 §4.4: an access token for a service client (client_credentials)',
        body: TokenRequest,
        response: { 200: ClientTokenBody, ...errorResponses },
      },
    },
    async (request) => {
      const client = clients.get(request)!;
      if (request.body.grant_type !== 'client_credentials') throw new AppError('unsupported_grant_type');
      const scopes = grantedScopes(client, request.body.scope);
      const accessToken = await clientTokens.issue(client, scopes);
      await audit(services.database.prisma, requestMeta(request), clock.now(), {
        type: 'client_token_issued',
        reason: `client ${client.id}: ${scopes.join(' ')}`.slice(0, 500),
      });
      request.log.info(
        { event: 'client_token_issued', clientId: client.id, scope: scopes.join(' ') },
        'client token issued',
      );
      return {
        access_token: accessToken,
        token_type: 'Bearer' as const,
        expires_in: clientTokens.ttlSeconds,
        scope: scopes.join(' '),
      };
    },
  );
};

export default tokenRoutes;
