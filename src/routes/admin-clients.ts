// /admin/clients: OAuth clients, registered in RFC 7591's metadata names so tools that know dynamic
// registration know this too (POST answers 201 with client_id, and client_secret once for a secret client;
// GET/PUT/DELETE per RFC 7592), plus disabling and the grants of a client or of a user. Same guard as the
// rest of /admin: registered inside routes/admin.ts, whose hooks (cross-site refusal, rate limits, admin check,
// no-store) run for these routes too; every change is audited with the actor.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { requestMeta } from '../http/request-meta.js';
import { NoBody, errorResponses } from '../http/schemas.js';
import { ConnectedAppsSchema, connectedAppsOut } from '../http/connected-apps.js';
import type { Actor } from '../domain/actor.js';
import { registrationOf as out } from '../domain/oauth/clients.js';
import type { Services } from '../services.js';

const Uris = Type.Array(Type.String({ maxLength: 2000 }), { maxItems: 20 });
const Jwks = Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 10 }) });

const Metadata = Type.Object(
  {
    client_name: Type.String({ minLength: 1, maxLength: 200 }),
    redirect_uris: Uris,
    post_logout_redirect_uris: Type.Optional(Uris),
    token_endpoint_auth_method: Type.Optional(Type.String({ maxLength: 64 })),
    grant_types: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 5 })),
    response_types: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 5 })),
    scope: Type.Optional(Type.String({ maxLength: 2000 })),
    jwks: Type.Optional(Jwks),
    resources: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 20 })),
    first_party: Type.Optional(Type.Boolean()),
    require_pushed_authorization_requests: Type.Optional(Type.Boolean()),
  },
  // RFC 7591 §2: metadata the server does not understand is ignored.
  { additionalProperties: true },
);

const ClientOut = Type.Object(
  {
    client_id: Type.String(),
    client_secret: Type.Optional(Type.String()),
    client_id_issued_at: Type.Integer(),
    client_name: Type.String(),
    redirect_uris: Type.Array(Type.String()),
    post_logout_redirect_uris: Type.Array(Type.String()),
    token_endpoint_auth_method: Type.String(),
    grant_types: Type.Array(Type.String()),
    response_types: Type.Array(Type.String()),
    scope: Type.String(),
    jwks: Type.Optional(Jwks),
    resources: Type.Array(Type.String()),
    first_party: Type.Boolean(),
    require_pushed_authorization_requests: Type.Boolean(),
    disabled: Type.Boolean(),
  },
  { additionalProperties: false },
);

const Params = Type.Object({ client_id: Type.String({ minLength: 1, maxLength: 128 }) });

const adminClientRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { oauthClients, oauth, directory } = services;

  const actor = (request: { adminActor: Actor | null }): Actor => request.adminActor!;
  const found = async (id: string) => {
    const client = await oauthClients.get(id);
    if (!client) throw new AppError('not_found');
    return client;
  };

  app.post(
    '/clients',
    {
      schema: {
        summary: 'Register an OAuth client (RFC 7591 metadata); the secret is in this answer only',
        body: Metadata,
        response: { 201: ClientOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { client, secret } = await oauthClients.register(request.body, actor(request), requestMeta(request));
      request.log.info({ event: 'oauth_client_registered', clientId: client.id }, 'OAuth client registered');
      return reply.code(201).send(out(client, secret));
    },
  );

  app.get(
    '/clients',
    {
      schema: {
        summary: 'Every OAuth client',
        response: { 200: Type.Object({ clients: Type.Array(ClientOut) }), ...errorResponses },
      },
    },
    async () => ({ clients: (await oauthClients.list()).map((c) => out(c)) }),
  );

  app.get(
    '/clients/:client_id',
    { schema: { summary: 'One OAuth client', params: Params, response: { 200: ClientOut, ...errorResponses } } },
    async (request) => out(await found(request.params.client_id)),
  );

  app.put(
    '/clients/:client_id',
    {
      schema: {
        summary: 'Replace an OAuth client’s metadata (RFC 7592); a new secret only when it newly needs one',
        params: Params,
        body: Metadata,
        response: { 200: ClientOut, ...errorResponses },
      },
    },
    async (request) => {
      const r = await oauthClients.replace(
        request.params.client_id,
        request.body,
        actor(request),
        requestMeta(request),
      );
      return out(r.client, r.secret);
    },
  );

  app.delete(
    '/clients/:client_id',
    {
      schema: {
        summary: 'Delete an OAuth client: its grants end and its consents are forgotten',
        params: Params,
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      await oauthClients.delete(request.params.client_id, actor(request), requestMeta(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/clients/:client_id/secret',
    {
      schema: {
        summary: 'Give a secret client a new secret (in this answer only); the old one stops at once',
        params: Params,
        response: { 200: ClientOut, ...errorResponses },
      },
    },
    async (request) => {
      const r = await oauthClients.rotateSecret(request.params.client_id, actor(request), requestMeta(request));
      return out(r.client, r.secret);
    },
  );

  for (const [path, disabled] of [
    ['/clients/:client_id/disable', true],
    ['/clients/:client_id/enable', false],
  ] as const) {
    app.post(
      path,
      {
        schema: {
          summary: disabled
            ? 'Disable an OAuth client: its grants end at once, its consents are forgotten'
            : 'Enable an OAuth client again',
          params: Params,
          response: { 200: ClientOut, ...errorResponses },
        },
      },
      async (request) =>
        out(await oauthClients.setDisabled(request.params.client_id, disabled, actor(request), requestMeta(request))),
    );
  }

  app.get(
    '/users/:id/apps',
    {
      schema: {
        summary: 'The apps a user connected through OAuth (a remembered consent or a live grant), by name',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: { 200: ConnectedAppsSchema, ...errorResponses },
      },
    },
    async (request) => {
      if (!(await directory.user(request.params.id))) throw new AppError('not_found');
      return connectedAppsOut(await oauth.consents.connected(request.params.id));
    },
  );

  app.delete(
    '/users/:id/apps/:client_id',
    {
      schema: {
        summary: 'End a user’s grants to an OAuth client and forget the consent',
        params: Type.Object({ id: Type.String({ format: 'uuid' }), client_id: Type.String({ maxLength: 128 }) }),
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const done = await oauth.consents.revoke(
        request.params.id,
        request.params.client_id,
        { kind: 'admin', actor: actor(request) },
        requestMeta(request),
      );
      if (!done) throw new AppError('not_found');
      return reply.code(204).send(null);
    },
  );
};

export default adminClientRoutes;
