// The refresh token travels only in this cookie: HttpOnly (no script can read it), Secure,
// SameSite=Strict, and scoped to /auth so it is never sent to anything but the token endpoints.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CookieSerializeOptions } from '@fastify/cookie';

export const REFRESH_COOKIE = 'tessera_refresh';
const base: CookieSerializeOptions = { httpOnly: true, secure: true, sameSite: 'strict', path: '/auth' };

export function readRefreshCookie(request: FastifyRequest): string | undefined {
  return request.cookies[REFRESH_COOKIE] || undefined;
}

/** `domain` (COOKIE_DOMAIN) widens the cookie to subdomains; without it the cookie is host-only. */
export function setRefreshCookie(reply: FastifyReply, token: string, expiresAt: Date, now: Date, domain?: string): void {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000));
  reply.setCookie(REFRESH_COOKIE, token, { ...base, maxAge, ...(domain ? { domain } : {}) });
}

export function clearRefreshCookie(reply: FastifyReply, domain?: string): void {
  reply.clearCookie(REFRESH_COOKIE, { ...base, ...(domain ? { domain } : {}) });
}
