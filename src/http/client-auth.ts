// Client authentication for the OAuth endpoints, HTTP side: reads what the request presents (RFC 6749
// §2.3.1 HTTP Basic with id and secret form-urlencoded first, or client_id + client_secret in the body;
// RFC 7523 client_assertion; or a bare client_id, for a public client) and hands it to the one domain step
// (src/domain/authz/client-authentication.ts). One method per request: two is invalid_request. A refused
// secret, or none at all, answers 401 invalid_client with a Basic challenge. At the token endpoint the client
// may come from a short-lived copy; a request its grant refused because the copy was stale is answered again,
// once, from a fresh read (answerWithCurrentClient).
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { DomainError } from '../domain/domain-error.js';
import type {
  AuthenticatedClient,
  ClientAuthentication,
  ClientRead,
  PresentedClient,
} from '../domain/authz/client-authentication.js';
import type { ServiceClient } from '../domain/tokens/service-clients.js';

const BASIC = /^Basic +([A-Za-z0-9+/]+=*) *$/i;
const twoMethods = () => new AppError('invalid_request', { message: 'Use one client authentication method, not two.' });

function decodeForm(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

function basic(header: string): PresentedClient | null {
  const match = BASIC.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const clientId = decodeForm(decoded.slice(0, colon));
  const secret = decodeForm(decoded.slice(colon + 1));
  return clientId !== null && secret !== null ? { method: 'client_secret_basic', clientId, secret } : null;
}

/** What the request presents; null when nothing readable. Throws invalid_request for two methods at once. */
function presented(request: FastifyRequest): PresentedClient | null {
  const header = request.headers.authorization;
  const body = (request.body ?? {}) as Record<string, unknown>;
  if (body.client_assertion !== undefined || body.client_assertion_type !== undefined) {
    // private_key_jwt: the assertion is the only credential.
    if (header !== undefined || body.client_secret !== undefined) throw twoMethods();
    const clientId = typeof body.client_id === 'string' ? body.client_id : undefined;
    return {
      method: 'private_key_jwt',
      clientId,
      assertionType: body.client_assertion_type,
      assertion: body.client_assertion,
    };
  }
  if (header !== undefined) {
    if (body.client_id !== undefined || body.client_secret !== undefined) throw twoMethods();
    return basic(header);
  }
  if (typeof body.client_id === 'string' && typeof body.client_secret === 'string')
    return { method: 'client_secret_post', clientId: body.client_id, secret: body.client_secret };
  if (typeof body.client_id === 'string' && body.client_secret === undefined)
    return { method: 'none', clientId: body.client_id };
  return null;
}

/** The calling client (confidential or public), or a thrown 401 invalid_client. */
async function authenticateClient(
  auth: ClientAuthentication,
  request: FastifyRequest,
  reply: FastifyReply,
  read: ClientRead = 'fresh',
): Promise<AuthenticatedClient> {
  const given = presented(request);
  try {
    return await auth.authenticate(given, request.ip, read);
  } catch (err) {
    // RFC 6749 §5.2: a refused secret (or no credential) is answered with the scheme to use.
    if (err instanceof DomainError && given?.method !== 'private_key_jwt')
      reply.header('www-authenticate', 'Basic realm="tessera", charset="UTF-8"');
    throw err;
  }
}

/** As authenticateClient, for endpoints only a registered service client may call (introspection, revocation). */
export async function authenticateServiceClient(
  auth: ClientAuthentication,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<ServiceClient> {
  const found = await authenticateClient(auth, request, reply);
  if (found.kind === 'confidential') return found.client;
  reply.header('www-authenticate', 'Basic realm="tessera", charset="UTF-8"');
  throw new AppError('invalid_client', { detail: `public client ${found.id} at a confidential endpoint` });
}

/**
 * Authenticates the client of every request to the endpoints `app` registers (/oauth/token, /oauth/par,
 * /oauth/device_authorization), before the body is validated, so an unknown client is a 401 whatever else
 * is wrong; returns how a handler or a rate limit finds the request's client. `otherwise` may authenticate
 * a request another way first (the API-key exchange, whose key is its credential); undefined: the usual way.
 * `read`: 'cached' only where every use of the client re-checks its version (the token endpoint's grants).
 */
export function authenticateEachRequest(
  app: FastifyInstance,
  auth: ClientAuthentication,
  otherwise?: (request: FastifyRequest) => AuthenticatedClient | undefined,
  read: ClientRead = 'fresh',
): (request: FastifyRequest) => AuthenticatedClient {
  const clients = new WeakMap<FastifyRequest, AuthenticatedClient>();
  app.addHook('preValidation', async (request, reply) => {
    clients.set(request, otherwise?.(request) ?? (await authenticateClient(auth, request, reply, read)));
  });
  return (request) => {
    const client = clients.get(request);
    if (!client) throw new Error('no client was authenticated for this request');
    return client;
  };
}

/**
 * Answers a request with `answer`, given the client its authentication found. When the answer is a refusal
 * (DomainError) and that client came from the per-instance copy and has changed since (disabled, deleted,
 * new secret or keys, new metadata: its version moved), the copy is dropped and the request is answered once
 * more with the client read fresh: a changed client is judged by what it is now, on every instance at once.
 * The success path costs nothing more; a refusal from a copy costs one indexed read.
 */
export async function answerWithCurrentClient<T>(
  auth: ClientAuthentication,
  request: FastifyRequest,
  reply: FastifyReply,
  client: AuthenticatedClient,
  answer: (client: AuthenticatedClient) => Promise<T>,
): Promise<T> {
  try {
    return await answer(client);
  } catch (err) {
    if (!(err instanceof DomainError) || (await auth.stillCurrent(client))) throw err;
    request.log.info({ event: 'oauth_client_copy_stale', clientId: client.id }, 'client changed: answered afresh');
    return answer(await authenticateClient(auth, request, reply, 'fresh'));
  }
}

/**
 * The route config of an endpoint limited per client: `perMinute` requests per minute for each client,
 * counted once it is authenticated (preHandler); {} when 0 (no limit). `key` names the bucket.
 */
export function perClientRateLimit(
  perMinute: number,
  key: (request: FastifyRequest) => string,
  allowList?: (request: FastifyRequest) => boolean,
): FastifyContextConfig {
  if (perMinute <= 0) return {};
  return {
    rateLimit: {
      max: perMinute,
      timeWindow: 60_000,
      hook: 'preHandler' as const,
      keyGenerator: key,
      ...(allowList ? { allowList } : {}),
    },
  };
}
