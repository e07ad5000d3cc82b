// An example resource service: the notes and transfers of a user, guarded by Tessera access tokens.
// Reading notes trusts the token alone (fast, no call to Tessera); a transfer asks Tessera whether the
// token is still active, so a logout or revocation stops it at once. Reports need a user with the role
// `support`; /sync is for another service, with a client_credentials token carrying scope `notes:sync`.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { tesseraAuth, type TesseraAuthOptions } from '@tessera/verify';

export interface ResourceServiceOptions extends TesseraAuthOptions {
  /** Fastify's logger option; off by default. */
  logger?: FastifyServerOptions['logger'];
}

const Refusal = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' } },
  required: ['code', 'message'],
} as const;
const refusals = { 401: Refusal, 403: Refusal, 503: Refusal };

const Notes = {
  type: 'object',
  properties: {
    user: { type: 'string' },
    notes: {
      type: 'array',
      items: {
        type: 'object',
        properties: { id: { type: 'integer' }, text: { type: 'string' } },
        required: ['id', 'text'],
      },
    },
  },
  required: ['user', 'notes'],
} as const;

const Transfer = {
  type: 'object',
  properties: { ok: { type: 'boolean' }, user: { type: 'string' } },
  required: ['ok', 'user'],
} as const;

const SAMPLE_NOTES = [
  { id: 1, text: 'This list was served after checking the token against the JWKS, without asking Tessera.' },
  { id: 2, text: 'Transfers ask Tessera first: a revoked token is refused at once.' },
];

export async function buildResourceService(options: ResourceServiceOptions): Promise<FastifyInstance> {
  const { logger = false, ...verifierOptions } = options;
  const app = Fastify({ logger });
  await app.register(tesseraAuth, verifierOptions);

  app.get(
    '/health',
    {
      schema: { response: { 200: { type: 'object', properties: { status: { const: 'ok' } }, required: ['status'] } } },
    },
    async () => ({ status: 'ok' }),
  );

  // Plain token check: a revoked token still reads notes until it expires (15 minutes at most).
  app.get(
    '/notes',
    {
      preHandler: app.requireAuth(),
      schema: { response: { 200: Notes, ...refusals } },
    },
    async (request) => ({ user: request.auth!.sub, notes: SAMPLE_NOTES }),
  );

  // Sensitive: introspection sees logout/revocation immediately, and refuses when Tessera can't answer.
  app.post(
    '/transfers',
    {
      preHandler: app.requireAuth({ introspect: true }),
      schema: { response: { 200: Transfer, ...refusals } },
    },
    async (request) => {
      request.log.info(
        { event: 'transfer', userId: request.auth!.sub, sessionId: request.auth!.sid },
        'transfer accepted',
      );
      return { ok: true, user: request.auth!.sub };
    },
  );

  // A user route needing a role: the `roles` claim, from the token alone.
  app.get(
    '/reports',
    {
      preHandler: app.requireAuth({ roles: ['support'] }),
      schema: {
        response: {
          200: {
            type: 'object',
            properties: { user: { type: 'string' }, reports: { type: 'integer' } },
            required: ['user', 'reports'],
          },
          ...refusals,
        },
      },
    },
    async (request) => ({ user: request.auth!.sub, reports: 3 }),
  );

  // A machine route: only a service's client_credentials token with scope notes:sync; user tokens are refused.
  app.post(
    '/sync',
    {
      preHandler: app.requireAuth({ kind: 'client', scopes: ['notes:sync'] }),
      schema: {
        response: {
          200: {
            type: 'object',
            properties: { client: { type: 'string' }, synced: { type: 'integer' } },
            required: ['client', 'synced'],
          },
          ...refusals,
        },
      },
    },
    async (request) => ({ client: request.auth!.sub, synced: SAMPLE_NOTES.length }),
  );

  return app;
}
