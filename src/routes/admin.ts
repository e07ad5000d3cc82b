// /admin/*: the operator's API. Thin adapters over src/domain/authz/; the caller is checked by
// adminAuth in plugins/bearer-auth.ts (role admin, or a client token with scope admin), and every change is audited
// with that caller as the actor.
//
// Browsers: /admin takes Bearer tokens only (no cookie), so there is no ambient credential to forge a
// request with; still, it answers no CORS preflight (not even for CORS_ORIGINS) and refuses any cross-site
// browser request, so an admin token kept in a page can't be used from another origin and an admin tool
// must be served from Tessera's own origin (or be a non-browser client).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { adminAuth } from '../plugins/bearer-auth.js';
import adminClientRoutes from './admin-clients.js';
import adminApiKeyRoutes from './admin-api-keys.js';
import adminMfaRoutes from './admin-mfa.js';
import adminWebhookRoutes from './admin-webhooks.js';
import { adminRateLimits } from '../plugins/admin-rate-limit.js';
import { isCrossSiteRequest } from '../plugins/browser-security.js';
import { requestMeta } from '../http/request-meta.js';
import { NoBody, errorResponses } from '../http/schemas.js';
import type { Actor } from '../domain/actor.js';
import type { Services } from '../services.js';
import { noStore } from '../http/no-store.js';
import { named } from '../http/plugin-name.js';
import auditExportRoutes, { auditEventOut } from './admin-audit-export.js';

const Uuid = Type.String({ format: 'uuid' });
const Cursor = Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$' });
// Query strings are not coerced (ajv coerceTypes is off app-wide): a limit is digits, 1 to 100.
const Limit = Type.String({ pattern: '^(100|[1-9][0-9]?)$' });
const limitOf = (v: string | undefined) => (v === undefined ? 50 : Number(v));
const DateTime = Type.String({ format: 'date-time' });

const AdminUser = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    created_at: DateTime,
    disabled_at: Type.Union([DateTime, Type.Null()]),
    roles: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

// The names of a user's own list (GET /auth/sessions), without `current`.
const AdminSession = Type.Object(
  {
    id: Uuid,
    created: DateTime,
    last_used: DateTime,
    expires: DateTime,
    user_agent: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

const AuditEvent = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    user_id: Type.Union([Uuid, Type.Null()]),
    session_id: Type.Union([Uuid, Type.Null()]),
    reason: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    request_id: Type.Union([Type.String(), Type.Null()]),
    created_at: DateTime,
  },
  { additionalProperties: false },
);

const UserParams = Type.Object({ id: Uuid });
const RoleParams = Type.Object({ id: Uuid, role: Type.String({ minLength: 1, maxLength: 128 }) });
const SessionParams = Type.Object({ id: Uuid, session_id: Uuid });
const Roles = Type.Object({ roles: Type.Array(Type.String()) }, { additionalProperties: false });

const iso = (d: Date) => d.toISOString();
const userOut = (u: { id: string; email: string; createdAt: Date; disabledAt: Date | null; roles: string[] }) => ({
  id: u.id,
  email: u.email,
  created_at: iso(u.createdAt),
  disabled_at: u.disabledAt ? iso(u.disabledAt) : null,
  roles: u.roles,
});

const adminRoutes: FastifyPluginAsync<{ services: Services }> = async (fastify, { services }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { directory, roles, accountAdmin, config } = services;
  const ownOrigin = new URL(config.issuer).origin;
  const noOrigins = new Set<string>();

  app.decorateRequest('adminActor', null);
  app.addHook('onRequest', async (request) => {
    if (isCrossSiteRequest(request, ownOrigin, noOrigins))
      throw new AppError('csrf_rejected', { detail: 'cross-site request to /admin' });
  });
  const limits = adminRateLimits(fastify, config.adminRateLimitPerMinute);
  if (limits) app.addHook('onRequest', limits.byAddress);
  // Before the request is validated: a caller who is not an admin learns nothing about the routes.
  app.addHook('onRequest', adminAuth(services));
  if (limits) app.addHook('onRequest', limits.byCaller);
  app.addHook('onSend', noStore);

  const actor = (request: { adminActor: Actor | null }): Actor => request.adminActor!;
  await app.register(named(auditExportRoutes), { services });
  await app.register(named(adminClientRoutes), { services });
  await app.register(named(adminApiKeyRoutes), { services });
  await app.register(named(adminMfaRoutes), { services });
  await app.register(named(adminWebhookRoutes), { services });

  app.get(
    '/users',
    {
      schema: {
        summary: 'Users by email, a page at a time (cursor), optionally those whose email starts with a prefix',
        querystring: Type.Object(
          {
            email_prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
            cursor: Type.Optional(Cursor),
            limit: Type.Optional(Limit),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ users: Type.Array(AdminUser), next_cursor: Type.Union([Type.String(), Type.Null()]) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { email_prefix: emailPrefix, cursor, limit } = request.query;
      const page = await directory.users({
        limit: limitOf(limit),
        ...(emailPrefix ? { emailPrefix } : {}),
        ...(cursor ? { cursor } : {}),
      });
      return { users: page.items.map(userOut), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/users/:id',
    {
      schema: {
        summary: 'One user, with roles and whether it is disabled',
        params: UserParams,
        response: { 200: AdminUser, ...errorResponses },
      },
    },
    async (request) => {
      const user = await directory.user(request.params.id);
      if (!user) throw new AppError('not_found');
      return userOut(user);
    },
  );

  app.put(
    '/users/:id/roles/:role',
    {
      schema: {
        summary: 'Grant a role (idempotent); tokens carry it from their next refresh',
        params: RoleParams,
        response: { 200: Roles, ...errorResponses },
      },
    },
    async (request) => {
      const { id, role } = request.params;
      await roles.grant(id, role, actor(request), requestMeta(request));
      return { roles: await roles.of(id) };
    },
  );

  app.delete(
    '/users/:id/roles/:role',
    {
      schema: {
        summary: 'Revoke a role (idempotent); end_sessions=true also ends every session of the user at once',
        params: RoleParams,
        querystring: Type.Object(
          { end_sessions: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])) },
          { additionalProperties: false },
        ),
        response: { 200: Roles, ...errorResponses },
      },
    },
    async (request) => {
      const { id, role } = request.params;
      if (!(await directory.user(id))) throw new AppError('not_found');
      await roles.revoke(id, role, actor(request), requestMeta(request), {
        endSessions: request.query.end_sessions === 'true',
      });
      return { roles: await roles.of(id) };
    },
  );

  app.post(
    '/users/:id/disable',
    {
      schema: {
        summary: 'Disable the account: every session ends, login is refused with account_disabled',
        params: UserParams,
        response: {
          200: Type.Object({ ended_sessions: Type.Integer() }, { additionalProperties: false }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const ended = await accountAdmin.disable(request.params.id, actor(request), requestMeta(request));
      return { ended_sessions: ended };
    },
  );

  app.post(
    '/users/:id/enable',
    {
      schema: {
        summary: 'Enable a disabled account (it logs in again; ended sessions stay ended)',
        params: UserParams,
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      await accountAdmin.enable(request.params.id, actor(request), requestMeta(request));
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/users/:id',
    {
      schema: {
        summary: 'Delete the account; its audit rows stay, with the user id and no email',
        params: UserParams,
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      await accountAdmin.delete(request.params.id, actor(request), requestMeta(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/users/:id/sessions',
    {
      schema: {
        summary: "The user's live sessions, most recently used first",
        params: UserParams,
        response: { 200: Type.Object({ sessions: Type.Array(AdminSession) }), ...errorResponses },
      },
    },
    async (request) => {
      const rows = await directory.sessions(request.params.id);
      return {
        sessions: rows.map((s) => ({
          id: s.id,
          created: iso(s.createdAt),
          last_used: iso(s.lastUsedAt),
          expires: iso(s.expiresAt),
          user_agent: s.userAgent,
          ip: s.ip,
        })),
      };
    },
  );

  app.delete(
    '/users/:id/sessions/:session_id',
    {
      schema: {
        summary: 'End one session of the user',
        params: SessionParams,
        response: { 204: NoBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const ended = await accountAdmin.endSession(
        request.params.id,
        request.params.session_id,
        actor(request),
        requestMeta(request),
      );
      if (!ended) throw new AppError('not_found');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/audit',
    {
      schema: {
        summary: 'Audit events, newest first, filtered by user, type and time range [from, to), a page at a time',
        querystring: Type.Object(
          {
            user_id: Type.Optional(Uuid),
            // Not `type`: @fastify/swagger reads a query property of that name as a JSON Schema keyword.
            event_type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            from: Type.Optional(DateTime),
            to: Type.Optional(DateTime),
            cursor: Type.Optional(Cursor),
            limit: Type.Optional(Limit),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ events: Type.Array(AuditEvent), next_cursor: Type.Union([Type.String(), Type.Null()]) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await directory.audit({
        limit: limitOf(q.limit),
        ...(q.user_id ? { userId: q.user_id } : {}),
        ...(q.event_type ? { type: q.event_type } : {}),
        ...(q.from ? { from: new Date(q.from) } : {}),
        ...(q.to ? { to: new Date(q.to) } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      return { events: page.items.map(auditEventOut), next_cursor: page.nextCursor };
    },
  );
};

export default adminRoutes;
