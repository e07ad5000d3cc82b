// CSRF for the built-in pages (/oauth/authorize and /oauth/device; beside their routes, as it reads the
// cross-site rule of src/plugins/browser-security.ts): each form carries a token equal to a __Host-
// SameSite=Strict cookie, compared in constant time, and a cross-site POST is refused whatever it carries.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isCrossSiteRequest } from '../plugins/browser-security.js';

const CSRF_COOKIE = '__Host-tessera_csrf';
const noOrigins = new Set<string>();
/** The token set during a request, so a second call in the same request answers the same one. */
const setNow = new WeakMap<FastifyRequest, string>();

/** The browser's token (set now when it has none), for the form's hidden csrf field. */
export function csrfToken(request: FastifyRequest, reply: FastifyReply): string {
  const current = request.cookies[CSRF_COOKIE];
  if (current && /^[A-Za-z0-9_-]{43}$/.test(current)) return current;
  const made = setNow.get(request);
  if (made) return made;
  const token = randomBytes(32).toString('base64url');
  setNow.set(request, token);
  reply.setCookie(CSRF_COOKIE, token, { httpOnly: true, secure: true, sameSite: 'strict', path: '/' });
  return token;
}

/** Whether a form POST is same-site and carries the cookie's token. */
export function csrfHolds(request: FastifyRequest, ownOrigin: string, field: unknown): boolean {
  if (isCrossSiteRequest(request, ownOrigin, noOrigins)) return false;
  const cookie = request.cookies[CSRF_COOKIE];
  if (!cookie || typeof field !== 'string' || cookie.length !== field.length) return false;
  return timingSafeEqual(Buffer.from(cookie), Buffer.from(field));
}
