// The rate limit of /admin (ADMIN_RATE_LIMIT_PER_MINUTE), on the shared rate-limit plugin's counters
// (memory, or Redis across instances). Two counts, because one is not enough: per client address before the
// token is checked (a flood of bad or missing tokens is cut off before any signature work), and per caller
// after it (an admin user or a service client, whatever address it comes from, so one stolen token can't
// page through every user and audit row at full speed). @fastify/rate-limit runs one limit per route, so
// both are checked here with its createRateLimit; a refusal is 429 too_many_requests with Retry-After, logged
// and audited like every other limit.
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { AppError } from '../errors.js';
import { addressBucket } from '../domain/address-bucket.js';
import { actorName } from '../domain/actor.js';

const WINDOW_MS = 60_000;

export interface AdminRateLimits {
  /** Registered before the admin check: counts the client address. */
  byAddress: onRequestAsyncHookHandler;
  /** Registered after it: counts the caller it found (request.adminActor). */
  byCaller: onRequestAsyncHookHandler;
}

export function adminRateLimits(app: FastifyInstance, perMinute: number): AdminRateLimits | undefined {
  if (perMinute <= 0) return undefined;
  const limit = (keyOf: (request: FastifyRequest) => string): onRequestAsyncHookHandler => {
    const check = app.createRateLimit({ max: perMinute, timeWindow: WINDOW_MS, keyGenerator: keyOf });
    return async (request) => {
      const result = await check(request);
      if (result.isAllowed || !result.isExceeded) return;
      app.rateLimitExceeded(request, result.key);
      throw new AppError('too_many_requests', {
        retryAfter: Math.max(1, result.ttlInSeconds),
        detail: `/admin limit ${perMinute} per minute for ${result.key.split('|')[0]}`,
      });
    };
  };
  return {
    byAddress: limit((request) => `admin-address|${addressBucket(request.ip)}`),
    byCaller: limit(
      (request) => `admin-caller|${request.adminActor ? actorName(request.adminActor) : addressBucket(request.ip)}`,
    ),
  };
}
