// What browsers need from an auth API: security headers (helmet's set, src/http/security-headers.ts),
// CORS for listed SPA origins only, and a CSRF check on the cookie-authenticated endpoints on top of
// SameSite=Strict.
import fp from 'fastify-plugin';
import cors from '@fastify/cors';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { SecurityHeaders } from '../http/security-headers.js';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route is authenticated by the refresh cookie: refuse cross-site browser requests. */
    cookieAuth?: boolean;
  }
}

/**
 * A browser request names where it comes from in Origin and Sec-Fetch-Site. Refuse it unless it is
 * same-origin, or from the service itself or a listed origin. Requests with neither header are not
 * from a browser (curl, services) and carry no ambient cookie risk.
 *
 * Sec-Fetch-Site: same-origin is enough on its own: the browser sets it, a page's script cannot (a
 * forbidden header name), and it compares the page with the URL the browser requested, so it holds
 * behind a same-origin reverse proxy whose public origin differs from ISSUER. A client that forges it
 * is not a browser, so holds no victim's cookie.
 */
export function isCrossSiteRequest(request: FastifyRequest, ownOrigin: string, allowed: Set<string>): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site === 'same-origin') return false;
  const origin = request.headers.origin;
  if (origin !== undefined) return origin !== ownOrigin && !allowed.has(origin);
  if (site === undefined || site === 'none') return false;
  // same-site: a sibling subdomain. Acceptable only where SPAs on other origins are expected at all.
  return !(site === 'same-site' && allowed.size > 0);
}

export default fp<{ config: Config; headers: SecurityHeaders }>(
  async (app, { config, headers }) => {
    const allowed = new Set(config.corsOrigins);
    const ownOrigin = new URL(config.issuer).origin;

    // First of this plugin's hooks, so that even a request refused by a later hook carries them.
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers);
      done();
    });

    // CORS by URL, so that preflights and unknown paths under a prefix answer like its routes. The answers are
    // built once, not per request (a fresh object, arrays and origin function each time). @fastify/cors still
    // normalises a delegator's answer at every request (5 % of a JWKS request's CPU); options fixed per route
    // would avoid that, but unknown paths and preflights under /admin and /.well-known/ then fall back to the
    // API's credentialed answer, which this URL rule exists to prevent.
    const publicCors = { origin: '*', credentials: false, methods: ['GET'] };
    // The admin API is for tools on Tessera's own origin and for services: no origin is granted (src/routes/admin.ts).
    const adminCors = { origin: false };
    const apiCors = {
      origin: (origin: string | undefined, cb: (err: Error | null, allow: boolean) => void) =>
        cb(null, origin !== undefined && allowed.has(origin)),
      credentials: true,
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['content-type', 'authorization'],
      exposedHeaders: ['x-request-id', 'www-authenticate'],
      maxAge: 600,
    };
    await app.register(cors, {
      delegator: (request, callback) => {
        if (request.url.startsWith('/.well-known/')) return callback(null, publicCors);
        if (request.url.startsWith('/admin')) return callback(null, adminCors);
        callback(null, apiCors);
      },
    });

    // The CSRF check is the cookie-authenticated routes' own hook, not one every request pays (a Bearer or
    // public route such as /auth/me or JWKS has no ambient credential to protect). It runs first of the route's
    // hooks, before its rate limit, as it did when it was global.
    const refuseCrossSite = async (request: FastifyRequest) => {
      if (isCrossSiteRequest(request, ownOrigin, allowed)) {
        request.log.warn(
          { event: 'csrf_rejected', origin: request.headers.origin, site: request.headers['sec-fetch-site'] },
          'cross-site request refused',
        );
        throw new AppError('csrf_rejected');
      }
    };
    app.addHook('onRoute', (route) => {
      if (!route.config?.cookieAuth) return;
      const own = route.onRequest === undefined ? [] : [route.onRequest].flat();
      route.onRequest = [refuseCrossSite, ...own];
    });
  },
  { name: 'tessera-browser-security' },
);
