// /admin/webhooks: the operator's webhook endpoints and their deliveries. Thin adapters over
// src/domain/webhooks/; registered inside routes/admin.ts, so its hooks (cross-site refusal, rate limits,
// admin check, no-store) run here too, and every change is audited with the admin as the actor. A signing
// secret appears in the answer that made it (create, rotate) and never again.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requestMeta } from '../http/request-meta.js';
import { NoBody, errorResponses } from '../http/schemas.js';
import type { Actor } from '../domain/actor.js';
import type { Endpoint } from '../domain/webhooks/endpoints.js';
import { MAX_OVERLAP_SECONDS } from '../domain/webhooks/endpoints.js';
import type { DeliveryView } from '../domain/webhooks/deliveries.js';
import { EVENT_TYPES } from '../domain/webhook-events.js';
import type { Services } from '../services.js';

const Uuid = Type.String({ format: 'uuid' });
const DateTime = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const EventTypeList = Type.Array(Type.String({ enum: [...EVENT_TYPES] }), { minItems: 1, maxItems: 50 });
const Url = Type.String({ minLength: 1, maxLength: 2048, examples: ['https://hooks.example.com/tessera'] });
const Description = Nullable(Type.String({ maxLength: 200 }));

const EndpointOut = Type.Object(
  {
    id: Uuid,
    url: Type.String(),
    event_types: Type.Array(Type.String()),
    description: Nullable(Type.String()),
    enabled: Type.Boolean(),
    created_at: DateTime,
    previous_secret_expires_at: Nullable(DateTime),
  },
  { additionalProperties: false },
);
const EndpointWithSecret = Type.Object(
  {
    endpoint: EndpointOut,
    secret: Type.String({ description: 'The signing secret (whsec_…): shown in this answer only' }),
  },
  { additionalProperties: false },
);
const DeliveryOut = Type.Object(
  {
    id: Type.String(),
    event_id: Type.String(),
    endpoint_id: Uuid,
    event_type: Type.String(),
    state: Type.String({ enum: ['pending', 'delivered', 'failed'] }),
    attempts: Type.Integer(),
    created_at: DateTime,
    last_attempt_at: Nullable(DateTime),
    next_attempt_at: Nullable(DateTime),
    delivered_at: Nullable(DateTime),
    last_status: Nullable(Type.Integer()),
    last_error: Nullable(Type.String()),
    last_response: Nullable(Type.String({ description: 'The first characters of the receiver’s last answer' })),
  },
  { additionalProperties: false },
);
const DeliveryWithPayload = Type.Object(
  { ...DeliveryOut.properties, payload: Type.String({ description: 'The JSON body as signed' }) },
  { additionalProperties: false },
);

const EndpointParams = Type.Object({ id: Uuid });
// A delivery id is a bigint: at most 18 digits, so every id the pattern lets through fits int8 (an id past
// 9223372036854775807 would fail in the database instead of being refused here).
const DeliveryId = Type.String({ pattern: '^[1-9][0-9]{0,17}$', description: 'A delivery id (digits)' });
const DeliveryParams = Type.Object({ id: DeliveryId });
const DeliveryQuery = Type.Object(
  {
    endpoint_id: Type.Optional(Uuid),
    state: Type.Optional(Type.String({ enum: ['pending', 'delivered', 'failed'] })),
    before: Type.Optional(DeliveryId),
    limit: Type.Optional(Type.String({ pattern: '^(100|[1-9][0-9]?)$' })),
  },
  { additionalProperties: false },
);

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const endpointOut = (e: Endpoint) => ({
  id: e.id,
  url: e.url,
  event_types: e.eventTypes,
  description: e.description,
  enabled: e.enabled,
  created_at: e.createdAt.toISOString(),
  previous_secret_expires_at: iso(e.previousSecretExpiresAt),
});
const deliveryOut = (d: DeliveryView) => ({
  id: d.id,
  event_id: d.eventId,
  endpoint_id: d.endpointId,
  event_type: d.eventType,
  state: d.state,
  attempts: d.attempts,
  created_at: d.createdAt.toISOString(),
  last_attempt_at: iso(d.lastAttemptAt),
  next_attempt_at: iso(d.nextAttemptAt),
  delivered_at: iso(d.deliveredAt),
  last_status: d.lastStatus,
  last_error: d.lastError,
  last_response: d.lastResponse,
});

const adminWebhookRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { endpoints, deliveries } = services.webhooks;
  const actor = (request: { adminActor: Actor | null }): Actor => request.adminActor!;

  app.post(
    '/webhooks',
    {
      schema: {
        summary: 'Register a webhook endpoint; its signing secret is in this answer only',
        body: Type.Object(
          { url: Url, event_types: EventTypeList, description: Type.Optional(Description) },
          { additionalProperties: false },
        ),
        response: { 201: EndpointWithSecret, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { url, event_types, description } = request.body;
      const made = await endpoints.create(
        { url, eventTypes: event_types, description },
        actor(request),
        requestMeta(request),
      );
      return reply.code(201).send({ endpoint: endpointOut(made.endpoint), secret: made.secret });
    },
  );

  app.get(
    '/webhooks',
    {
      schema: {
        summary: 'Every webhook endpoint (never its secrets)',
        response: { 200: Type.Object({ endpoints: Type.Array(EndpointOut) }), ...errorResponses },
      },
    },
    async () => ({ endpoints: (await endpoints.list()).map(endpointOut) }),
  );

  app.get(
    '/webhooks/:id',
    {
      schema: {
        summary: 'One webhook endpoint',
        params: EndpointParams,
        response: { 200: EndpointOut, ...errorResponses },
      },
    },
    async (request) => endpointOut(await endpoints.get(request.params.id)),
  );

  app.patch(
    '/webhooks/:id',
    {
      schema: {
        summary: 'Change an endpoint’s URL, event types or description, or enable or disable it',
        params: EndpointParams,
        body: Type.Object(
          {
            url: Type.Optional(Url),
            event_types: Type.Optional(EventTypeList),
            description: Type.Optional(Description),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: EndpointOut, ...errorResponses },
      },
    },
    async (request) => {
      const { url, event_types, description, enabled } = request.body;
      const changed = await endpoints.update(
        request.params.id,
        { url, eventTypes: event_types, description, enabled },
        actor(request),
        requestMeta(request),
      );
      return endpointOut(changed);
    },
  );

  app.delete(
    '/webhooks/:id',
    {
      schema: {
        summary: 'Delete an endpoint, its secrets and its deliveries',
        params: EndpointParams,
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      await endpoints.delete(request.params.id, actor(request), requestMeta(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/:id/rotate-secret',
    {
      schema: {
        summary: 'A new signing secret (in this answer only); the old one signs too for overlap_seconds',
        params: EndpointParams,
        body: Type.Object(
          {
            overlap_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OVERLAP_SECONDS, default: 86400 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: EndpointWithSecret, ...errorResponses },
      },
    },
    async (request, reply) => {
      const made = await endpoints.rotateSecret(
        request.params.id,
        request.body.overlap_seconds ?? 86400,
        actor(request),
        requestMeta(request),
      );
      return reply.code(201).send({ endpoint: endpointOut(made.endpoint), secret: made.secret });
    },
  );

  app.get(
    '/webhooks/deliveries',
    {
      schema: {
        summary: 'Webhook deliveries and their last outcome, newest first (page with before=<last id>)',
        querystring: DeliveryQuery,
        response: { 200: Type.Object({ deliveries: Type.Array(DeliveryOut) }), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await deliveries.list({
        endpointId: q.endpoint_id,
        state: q.state as DeliveryView['state'] | undefined,
        before: q.before,
        limit: q.limit === undefined ? 50 : Number(q.limit),
      });
      return { deliveries: rows.map(deliveryOut) };
    },
  );

  app.get(
    '/webhooks/deliveries/:id',
    {
      schema: {
        summary: 'One webhook delivery, with the payload it carries',
        params: DeliveryParams,
        response: { 200: DeliveryWithPayload, ...errorResponses },
      },
    },
    async (request) => {
      const d = await deliveries.get(request.params.id);
      return { ...deliveryOut(d), payload: d.payload };
    },
  );

  app.post(
    '/webhooks/deliveries/:id/resend',
    {
      schema: {
        summary:
          'Send a delivery again (same webhook-id), with a fresh count of attempts; 409 webhook_delivery_in_flight while a worker is sending it',
        params: DeliveryParams,
        response: { 202: DeliveryOut, ...errorResponses },
      },
    },
    async (request, reply) => {
      const d = await deliveries.resend(request.params.id, actor(request), requestMeta(request));
      return reply.code(202).send(deliveryOut(d));
    },
  );
};

export default adminWebhookRoutes;
