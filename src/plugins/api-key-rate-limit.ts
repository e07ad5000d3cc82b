// The rate limits of API keys, on the shared rate-limit plugin's counters (memory, or Redis across instances),
// wherever a key is presented (the token exchange, introspection). Two counts, as for /admin:
//   byAddress  API_KEY_ADDRESS_RATE_LIMIT_PER_MINUTE per client address, before the key is looked up, so a
//              flood of made-up keys (their checksum right) costs no more lookups than that
//   byKey      API_KEY_RATE_LIMIT_PER_MINUTE per key, counted once the key is known genuine, so someone who
//              only knows a key's id can't spend its owner's budget
// A refusal is 429 too_many_requests with Retry-After, logged and audited like every other limit.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { addressBucket } from '../domain/address-bucket.js';

const WINDOW_MS = 60_000;

export interface ApiKeyRateLimits {
  byAddress(request: FastifyRequest): Promise<void>;
  byKey(request: FastifyRequest, keyId: string): Promise<void>;
}

export function apiKeyRateLimits(
  app: FastifyInstance,
  limits: { perKeyPerMinute: number; perAddressPerMinute: number },
): ApiKeyRateLimits {
  const keyOf = new WeakMap<FastifyRequest, string>();
  const limit = (perMinute: number, name: (request: FastifyRequest) => string) => {
    if (perMinute <= 0) return async () => {};
    const check = app.createRateLimit({ max: perMinute, timeWindow: WINDOW_MS, keyGenerator: name });
    return async (request: FastifyRequest) => {
      const result = await check(request);
      if (result.isAllowed || !result.isExceeded) return;
      app.rateLimitExceeded(request, result.key);
      throw new AppError('too_many_requests', {
        retryAfter: Math.max(1, result.ttlInSeconds),
        detail: `API-key limit ${perMinute} per minute for ${result.key.split('|')[0]}`,
      });
    };
  };
  const address = limit(limits.perAddressPerMinute, (request) => `api-key-address|${addressBucket(request.ip)}`);
  const key = limit(limits.perKeyPerMinute, (request) => `api-key|${keyOf.get(request) ?? ''}`);
  return {
    byAddress: address,
    byKey: async (request, keyId) => {
      keyOf.set(request, keyId);
      await key(request);
    },
  };
}
