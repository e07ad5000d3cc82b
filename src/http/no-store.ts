// Token responses, personal data and health answers must never be stored by a cache (RFC 6749 §5.1):
// one onSend hook for every route file that needs it.
// Callback style: Fastify runs it without a promise (see src/plugins/request-log.ts).
import type { FastifyReply, FastifyRequest } from 'fastify';

export function noStore(
  _request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  done: (err: null, payload: unknown) => void,
): void {
  reply.header('cache-control', 'no-store');
  reply.header('pragma', 'no-cache');
  done(null, payload);
}
