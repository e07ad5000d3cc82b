// Per-address rate limits on the endpoints attackers hammer (register, login, refresh, password change).
// Routes opt in with `config: { rateLimit: rateLimitFor(config) }`. A refusal is 429 too_many_requests
// with Retry-After, a log line, and an audit row (the first refusal per address and route in a window,
// so a flood can't turn into a flood of writes). Counters live in memory, or in Redis when REDIS_URL is
// set so that the limit holds across instances; if Redis fails, requests pass (fail open) and it is logged.
// A refresh whose cookie holds a token we minted (its MAC checks: no database needed) counts against its
// session instead, spread over SESSION_BUCKETS counters by the token's refresh counter: each reload presents
// the next counter, so a reloading developer gets SESSION_BUCKETS times the budget (120 a minute by default),
// while one token replayed over and over stays in one bucket. A missing, forged or garbage cookie counts
// against the address as before, so guessing stays limited.
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { audit } from '../domain/audit.js';
import { addressBucket } from '../domain/address-bucket.js';
import { requestMeta } from '../http/request-meta.js';
import { readRefreshCookie } from '../http/refresh-cookie.js';
import { RefreshTokens } from '../domain/sessions/refresh-tokens.js';
import { MemoryRateLimitStore } from './rate-limit-store.js';
import type { Services } from '../services.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'refresh_session': a request whose refresh cookie's MAC checks counts against its session, not its address. */
    rateLimitBy?: 'refresh_session';
  }
}

const WINDOW_MS = 60_000;
const MAX_REMEMBERED = 10_000;

/** A session's refreshes are counted in this many buckets, each with the per-address budget. */
export const SESSION_BUCKETS = 6n;

declare module 'fastify' {
  interface FastifyInstance {
    /** What every refusal does (log line, one audit row per key and window): for limits checked by hand. */
    rateLimitExceeded(request: FastifyRequest, key: string): void;
  }
}

export function rateLimitFor(config: Config): { max: number; timeWindow: number } | undefined {
  return config.rateLimitPerMinute > 0 ? { max: config.rateLimitPerMinute, timeWindow: WINDOW_MS } : undefined;
}

/** The rate-limit key of a refresh whose token's MAC checks (its session and counter bucket); else undefined. */
function refreshSessionKey(
  request: FastifyRequest,
  tokens: RefreshTokens,
  cookieDomain: string | undefined,
): string | undefined {
  try {
    const { token } = readRefreshCookie(request, cookieDomain);
    const claims = token ? tokens.verify(token) : null;
    return claims ? `session:${claims.sessionId}:${claims.counter % SESSION_BUCKETS}` : undefined;
  } catch {
    return undefined; // two refresh cookies: the route refuses it; count the address
  }
}

/** Remembers which keys were audited recently: one audit row per key per window. */
class AuditOncePerWindow {
  private readonly until = new Map<string, number>();

  shouldAudit(key: string, now: number): boolean {
    const until = this.until.get(key);
    if (until !== undefined && until > now) return false;
    this.until.delete(key);
    this.until.set(key, now + WINDOW_MS);
    if (this.until.size > MAX_REMEMBERED) {
      for (const k of this.until.keys()) {
        if (this.until.size <= MAX_REMEMBERED * 0.9) break;
        this.until.delete(k);
      }
    }
    return true;
  }
}

export default fp<{ services: Services; redis?: Redis | undefined }>(
  async (app, { services, redis }) => {
    const audited = new AuditOncePerWindow();
    const tokens = new RefreshTokens(services.refreshKeys); // the same key ring the rotation mints with
    // Audit rows are written after the answer; closing waits for them (the database closes after this hook).
    const writing = new Set<Promise<unknown>>();
    app.addHook('onClose', async () => void (await Promise.allSettled(writing)));
    const onExceeded = (request: FastifyRequest, key: string) => {
      const route = request.routeOptions.url ?? '';
      request.log.warn({ event: 'rate_limited', route, ip: request.ip }, 'rate limited');
      const now = services.clock.now();
      if (!audited.shouldAudit(key, now.getTime())) return;
      const write = audit(services.database.prisma, requestMeta(request), now, { type: 'rate_limited', reason: route })
        .catch((err: unknown) =>
          request.log.error({ err, event: 'audit_failed' }, 'could not write the rate_limited audit row'),
        )
        .finally(() => writing.delete(write));
      writing.add(write);
    };
    app.decorate('rateLimitExceeded', onExceeded);
    await app.register(rateLimit, {
      global: false,
      // Counted per address and per route: a burst of logins does not block refreshes.
      // Refreshes with a valid token per session instead (see the top of this file).
      keyGenerator: (request) => {
        const route = request.routeOptions.url ?? '';
        const session =
          request.routeOptions.config?.rateLimitBy === 'refresh_session'
            ? refreshSessionKey(request, tokens, services.config.cookieDomain)
            : undefined;
        return `${session ?? addressBucket(request.ip)}|${route}`;
      },
      ...(redis
        ? { redis, nameSpace: 'tessera:rate-limit:', skipOnError: true }
        : { store: MemoryRateLimitStore as never }),
      addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
      onExceeded,
      errorResponseBuilder: (_request, context) =>
        new AppError('too_many_requests', { detail: `limit ${context.max} per ${context.after}` }),
    });
  },
  { name: 'tessera-rate-limit' },
);
