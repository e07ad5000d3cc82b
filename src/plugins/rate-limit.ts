// Per-address rate limits on the endpoints attackers hammer (register, login, refresh), in memory.
// Routes opt in with `config: { rateLimit: rateLimitFor(config) }`. A refusal is 429 too_many_requests
// with Retry-After, and a log line.
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';

export function rateLimitFor(config: Config): { max: number; timeWindow: number } | undefined {
  return config.rateLimitPerMinute > 0 ? { max: config.rateLimitPerMinute, timeWindow: 60_000 } : undefined;
}

export default fp(
  async (app) => {
    await app.register(rateLimit, {
      global: false,
      // Counted per address and per route: a burst of logins does not block refreshes.
      keyGenerator: (request) => `${request.ip}|${request.routeOptions.url ?? ''}`,
      addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
      onExceeded: (request) => request.log.warn({ event: 'rate_limited', route: request.routeOptions.url, ip: request.ip }, 'rate limited'),
      errorResponseBuilder: (_request, context) => new AppError('too_many_requests', { detail: `limit ${context.max} per ${context.after}` }),
    });
  },
  { name: 'tessera-rate-limit' },
);
