// Token responses, personal data and health answers must never be stored by a cache (RFC 6749 §5.1):
// one onSend hook for every route file that needs it.
import type { FastifyReply, FastifyRequest } from 'fastify';

export async function noStore(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('cache-control', 'no-store');
  reply.header('pragma', 'no-cache');
}
