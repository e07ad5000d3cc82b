// Who is asking, as the domain sees it: address, user agent and request id, never a secret.
import type { FastifyRequest } from 'fastify';
import type { RequestMeta } from '../domain/audit.js';

export function requestMeta(request: FastifyRequest): RequestMeta {
  return { ip: request.ip, userAgent: request.headers['user-agent'], requestId: request.id };
}
