// POST /oauth/par (RFC 9126): a client pushes its authorization request, authenticated as at the token endpoint
// (src/http/client-auth.ts), and gets a request_uri that /oauth/authorize accepts instead of the parameters.
// The parameters are checked here by the authorization endpoint's own validator
// (src/domain/oauth/authorization-request.ts), so a request that is accepted when pushed is accepted when
// claimed; the errors a push gets are the ones the redirect would have carried, as JSON (RFC 9126 §2.3).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { acceptForms } from '../http/form-body.js';
import { authenticateEachRequest, perClientRateLimit } from '../http/client-auth.js';
import { errorResponses } from '../http/schemas.js';
import { noStore } from '../http/no-store.js';
import { AppError, type ErrorCode } from '../errors.js';
import { REQUEST_PARAMS, checkAuthorizationRequest, type Params } from '../domain/oauth/authorization-request.js';
import { addressBucket } from '../domain/address-bucket.js';
import type { Services } from '../services.js';

const Value = Type.String({ maxLength: 4096 });
const PushRequest = Type.Object(
  Object.fromEntries(
    [...REQUEST_PARAMS, 'client_secret', 'client_assertion_type', 'client_assertion', 'request_uri', 'request'].map(
      (name) => [name, Type.Optional(Type.Union([Value, Type.Array(Value, { maxItems: 10 })]))],
    ),
  ),
  // RFC 9126 §2.1 (by RFC 6749 §3.1): unknown parameters are ignored.
  { additionalProperties: true },
);

const PushResponse = Type.Object(
  {
    request_uri: Type.String({ description: 'urn:ietf:params:oauth:request_uri:<random>, for /oauth/authorize' }),
    expires_in: Type.Integer({ description: 'Seconds the request_uri may be used in (60)' }),
  },
  { additionalProperties: false },
);

/** The catalog code for an error the authorization endpoint would have sent to the redirect URI. */
const CODES: Record<string, ErrorCode> = { invalid_scope: 'invalid_scope', invalid_target: 'invalid_target' };

const pushedAuthorizationRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  await acceptForms(fastify);
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { clientAuthentication, config, oauth } = services;
  const resourceRegistry = { fallback: config.audience, registered: config.resources };

  app.addHook('onSend', noStore);
  const clientOf = authenticateEachRequest(fastify, clientAuthentication);
  app.post(
    '/par',
    {
      // A public client proves nothing but its name, so anyone could spend its budget: its pushes are counted
      // per client and address, a confidential client's per client.
      config: perClientRateLimit(config.tokenRateLimitPerMinute, (request) => {
        const caller = clientOf(request);
        return caller.method === 'none' ? `par|${caller.id}|${addressBucket(request.ip)}` : `par|${caller.id}`;
      }),
      schema: {
        summary: 'RFC 9126: push an authorization request, get a request_uri for /oauth/authorize',
        body: PushRequest,
        response: { 201: PushResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const caller = clientOf(request);
      if (caller.kind !== 'oauth' || !caller.client.grantTypes.includes('authorization_code'))
        throw new AppError('unauthorized_client', {
          detail: `client ${caller.id} is not registered for the authorization code grant`,
        });
      const body = request.body as Params;
      // RFC 9126 §2.1: a client_id in the body must name the client that authenticated.
      if (body.client_id !== undefined && body.client_id !== caller.id)
        throw new AppError('invalid_request', { message: 'client_id does not match the authenticated client.' });
      const params: Params = { client_id: caller.id };
      for (const name of REQUEST_PARAMS)
        if (name !== 'client_id' && body[name] !== undefined) params[name] = body[name];
      if (body.request_uri !== undefined) params.request_uri = body.request_uri;
      if (body.request !== undefined) params.request = body.request;

      const checked = checkAuthorizationRequest(params, caller.client, resourceRegistry, {
        pushed: true,
        requirePushed: config.authorization.requirePushedRequests,
      });
      if (checked.kind === 'page')
        throw new AppError('invalid_request', {
          message: 'redirect_uri is missing or not registered for this client.',
          detail: checked.detail,
        });
      if (checked.kind === 'redirect')
        throw new AppError(CODES[checked.error] ?? 'invalid_request', { message: `${checked.description}.` });

      const pushed = await oauth.pushed.push(caller.id, params as Record<string, string>);
      request.log.info({ event: 'oauth_request_pushed', clientId: caller.id }, 'authorization request pushed');
      return reply.code(201).send({ request_uri: pushed.requestUri, expires_in: pushed.expiresIn });
    },
  );
};

export default pushedAuthorizationRoutes;
