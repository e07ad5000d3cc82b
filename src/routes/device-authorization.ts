// POST /oauth/device_authorization (RFC 8628 §3.1-3.2): a CLI or a TV asks for a device code to poll the token
// endpoint with and a user code for its user to enter at /oauth/device. The client authenticates as at the token
// endpoint (src/http/client-auth.ts: a secret, an assertion, or, for a public client, its id), and must be
// registered for the device_code grant. Scopes are checked against the client's, the audience is its first
// registered resource (else Tessera's), as at the authorization endpoint.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { acceptForms } from '../http/form-body.js';
import { authenticateEachRequest, perClientRateLimit } from '../http/client-auth.js';
import { errorResponses } from '../http/schemas.js';
import { requestMeta } from '../http/request-meta.js';
import { noStore } from '../http/no-store.js';
import { AppError } from '../errors.js';
import { DEVICE_CODE_GRANT } from '../domain/grants/device-code.js';
import { displayUserCode } from '../domain/oauth/user-codes.js';
import type { Services } from '../services.js';

const DeviceAuthorizationRequest = Type.Object(
  {
    client_id: Type.Optional(Type.String({ maxLength: 256 })),
    scope: Type.Optional(Type.String({ maxLength: 1024 })),
    client_secret: Type.Optional(Type.String({ maxLength: 1024 })),
    client_assertion_type: Type.Optional(Type.String({ maxLength: 256 })),
    client_assertion: Type.Optional(Type.String({ maxLength: 8192 })),
  },
  // RFC 6749 §3.2 (and RFC 8628 §3.1 by reference): unknown parameters are ignored.
  { additionalProperties: true },
);

const DeviceAuthorizationResponse = Type.Object(
  {
    device_code: Type.String(),
    user_code: Type.String({ description: 'Eight letters shown as XXXX-XXXX' }),
    verification_uri: Type.String(),
    verification_uri_complete: Type.String(),
    expires_in: Type.Integer(),
    interval: Type.Integer(),
  },
  { additionalProperties: false },
);

const deviceAuthorizationRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  await acceptForms(fastify);
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { clientAuthentication, config, oauth } = services;
  const verificationUri = `${config.issuer}/oauth/device`;

  app.addHook('onSend', noStore);
  const clientOf = authenticateEachRequest(fastify, clientAuthentication);
  app.post(
    '/device_authorization',
    {
      config: perClientRateLimit(config.tokenRateLimitPerMinute, (request) => `device|${clientOf(request).id}`),
      schema: {
        summary: 'RFC 8628 §3.1: a device code and a user code for a CLI or TV client',
        body: DeviceAuthorizationRequest,
        response: { 200: DeviceAuthorizationResponse, ...errorResponses },
      },
    },
    async (request) => {
      const caller = clientOf(request);
      if (caller.kind !== 'oauth' || !caller.client.grantTypes.includes(DEVICE_CODE_GRANT))
        throw new AppError('unauthorized_client', {
          detail: `client ${caller.id} is not registered for the device grant`,
        });
      const client = caller.client;
      const asked = request.body.scope ?? '';
      const scope = [...new Set(asked.split(' ').filter(Boolean))];
      if (scope.length === 0) throw new AppError('invalid_scope', { message: 'scope is required.' });
      if (!scope.every((s) => client.scopes.includes(s))) throw new AppError('invalid_scope');
      const audience = client.resources.length > 0 ? [client.resources[0]!] : config.audience;
      const started = await oauth.devices.start(client.id, scope, audience, requestMeta(request));
      const userCode = displayUserCode(started.userCode);
      request.log.info({ event: 'oauth_device_started', clientId: client.id }, 'device authorization started');
      return {
        device_code: started.deviceCode,
        user_code: userCode,
        verification_uri: verificationUri,
        verification_uri_complete: `${verificationUri}?user_code=${userCode}`,
        expires_in: started.expiresIn,
        interval: started.interval,
      };
    },
  );
};

export default deviceAuthorizationRoutes;
