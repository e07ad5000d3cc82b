// POST /oauth/token: the client_credentials grant (RFC 6749 §4.4) for registered service clients, and the
// authorization_code and refresh_token grants for OAuth clients in the database (src/domain/oauth/grants/,
// one file each; their clients authenticate in src/http/oauth-client-auth.ts).
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
import { grantedScopes } from '../domain/authz/client-tokens.js';
import type { ServiceClient } from '../domain/tokens/service-clients.js';
import type { Services } from '../services.js';
import { noStore } from '../http/no-store.js';
import { authenticateOAuthClient } from '../http/oauth-client-auth.js';
import type { OAuthClient } from '../domain/oauth/clients.js';
import { authorizationCodeGrant } from '../domain/oauth/grants/authorization-code.js';
import { refreshTokenGrant } from '../domain/oauth/grants/refresh-token.js';
import { markGraceRefresh } from '../plugins/metrics.js';

const TokenRequest = Type.Object(
  {
    grant_type: Type.String({ minLength: 1, maxLength: 128 }),
    scope: Type.Optional(Type.String({ maxLength: 1024 })),
    client_id: Type.Optional(Type.String({ maxLength: 256 })),
    client_secret: Type.Optional(Type.String({ maxLength: 1024 })),
    client_assertion_type: Type.Optional(Type.String({ maxLength: 256 })),
    client_assertion: Type.Optional(Type.String({ maxLength: 8192 })),
    code: Type.Optional(Type.String({ maxLength: 256 })),
    redirect_uri: Type.Optional(Type.String({ maxLength: 2000 })),
    code_verifier: Type.Optional(Type.String({ maxLength: 256 })),
    refresh_token: Type.Optional(Type.String({ maxLength: 256 })),
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
    refresh_token: Type.Optional(Type.String()),
    id_token: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** The grants of OAuth clients registered in the database. */
const USER_GRANTS = new Set(['authorization_code', 'refresh_token']);

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
  const oauthClients = new WeakMap<object, OAuthClient>();
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
    const grant = (request.body as Record<string, unknown> | undefined)?.grant_type;
    if (typeof grant === 'string' && USER_GRANTS.has(grant))
      oauthClients.set(
        request,
        await authenticateOAuthClient(services.oauthClients, clientAssertions, request, reply),
      );
    else clients.set(request, await authenticate(request, reply));
  });

  async function userGrant(request: FastifyRequest, client: OAuthClient) {
    const body = request.body as Record<string, unknown>;
    const meta = requestMeta(request);
    if (body.grant_type === 'authorization_code') {
      const response = await authorizationCodeGrant(services.oauth, client, body, meta);
      request.log.info({ event: 'oauth_code_redeemed', clientId: client.id }, 'authorization code redeemed');
      return response;
    }
    const { grace, ...response } = await refreshTokenGrant(services.oauth, client, body, meta);
    if (grace) markGraceRefresh(request);
    request.log.info({ event: 'oauth_refresh', clientId: client.id, grace }, 'OAuth refresh');
    return response;
  }

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
                keyGenerator: (request: FastifyRequest) =>
                  `token|${(clients.get(request) ?? oauthClients.get(request))!.id}`,
              },
            }
          : {},
      schema: {
        summary:
          'Tokens: client_credentials for service clients; authorization_code (PKCE) and refresh_token for OAuth clients',
        body: TokenRequest,
        response: { 200: ClientTokenBody, ...errorResponses },
      },
    },
    async (request) => {
      const oauthClient = oauthClients.get(request);
      if (oauthClient) return userGrant(request, oauthClient);
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
