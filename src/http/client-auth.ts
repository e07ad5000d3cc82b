// Service-client authentication for the OAuth endpoints (RFC 6749 §2.3.1): HTTP Basic
// (client_secret_basic, id and secret form-urlencoded first) or client_id + client_secret in the body
// (client_secret_post). One method per request. Failure: 401 invalid_client with a Basic challenge.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { ServiceClient, ServiceClients } from '../domain/tokens/service-clients.js';

const BASIC = /^Basic +([A-Za-z0-9+/]+=*) *$/i;

function decodeForm(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

function credentials(request: FastifyRequest): { id: string; secret: string } | null {
  const header = request.headers.authorization;
  const body = (request.body ?? {}) as { client_id?: unknown; client_secret?: unknown };
  const inBody = body.client_id !== undefined || body.client_secret !== undefined;
  if (header !== undefined) {
    if (inBody) throw new AppError('invalid_request', { message: 'Use one client authentication method, not two.' });
    const match = BASIC.exec(header);
    if (!match) return null;
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const id = decodeForm(decoded.slice(0, colon));
    const secret = decodeForm(decoded.slice(colon + 1));
    return id !== null && secret !== null ? { id, secret } : null;
  }
  if (typeof body.client_id === 'string' && typeof body.client_secret === 'string')
    return { id: body.client_id, secret: body.client_secret };
  return null;
}

export function authenticateClient(
  clients: ServiceClients,
  request: FastifyRequest,
  reply: FastifyReply,
): ServiceClient {
  const given = credentials(request);
  const client = given ? clients.authenticate(given.id, given.secret) : null;
  if (!client) {
    reply.header('www-authenticate', 'Basic realm="tessera", charset="UTF-8"');
    throw new AppError('invalid_client', {
      detail: given
        ? `client authentication failed for ${JSON.stringify(given.id.slice(0, 64))}`
        : 'no client credentials',
    });
  }
  return client;
}
