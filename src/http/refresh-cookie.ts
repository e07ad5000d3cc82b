// The refresh token travels only in a cookie: HttpOnly (no script can read it), Secure, SameSite=Strict.
//
// Its name and scope depend on COOKIE_DOMAIN:
//   unset (default)  `__Host-tessera_refresh`, Path=/, no Domain. Browsers accept a cookie with the __Host-
//                    prefix only from this very host, Secure, with Path=/ and no Domain, so a sibling
//                    subdomain can neither plant one under this name nor overwrite ours. Path=/ is what the
//                    prefix demands: the cookie goes to every path of this host (give Tessera a host of its own).
//   set              `tessera_refresh`, Path=/auth, Domain=COOKIE_DOMAIN: shared with the subdomains by design,
//                    so no prefix can apply and every subdomain must be trusted (docs/spa.md, "Browser protection").
//
// Cookie tossing: a sibling subdomain can still add a `tessera_refresh` cookie for the parent domain, and
// the browser then sends two. Whichever came first would win, so the attacker could switch the victim into
// the attacker's session, or have our clearing Set-Cookie wipe the victim's real one. A request carrying
// more than one refresh cookie, under either name, is therefore refused (400 refresh_cookie_conflict)
// before anything else, and nothing is set or cleared. The raw Cookie header is read for this: the parsed
// `request.cookies` keeps only one value per name.
//
// Rollout: before the prefix the host-only cookie was `tessera_refresh; Path=/auth`. A request carrying the
// other scheme's cookie alone is still served (so nobody is logged out by the upgrade); the answer sets
// the current cookie and clears the other one, and so does a login that carries it.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CookieSerializeOptions } from '@fastify/cookie';
import { AppError } from '../errors.js';

/** The cookie's name when COOKIE_DOMAIN is unset (the default). */
export const REFRESH_COOKIE = '__Host-tessera_refresh';
/** The cookie's name with COOKIE_DOMAIN, and the host-only cookie's name before the __Host- prefix. */
export const DOMAIN_REFRESH_COOKIE = 'tessera_refresh';

const base: CookieSerializeOptions = { httpOnly: true, secure: true, sameSite: 'strict' };

interface Scheme {
  name: string;
  options: CookieSerializeOptions;
}

/** The cookie this deployment sets, and the one it used to set (or would set with the other setting). */
function schemes(domain: string | undefined): { current: Scheme; other: Scheme } {
  const host: Scheme = { name: REFRESH_COOKIE, options: { ...base, path: '/' } };
  const legacyHost: Scheme = { name: DOMAIN_REFRESH_COOKIE, options: { ...base, path: '/auth' } };
  if (!domain) return { current: host, other: legacyHost };
  return { current: { name: DOMAIN_REFRESH_COOKIE, options: { ...base, path: '/auth', domain } }, other: host };
}

/** The refresh cookie of a request: its value, and whether it is the other scheme's (to be replaced). */
export interface PresentedRefresh {
  token: string | undefined;
  replaceOther: boolean;
}

function cookieNames(header: string | undefined): string[] {
  if (!header) return [];
  return header.split(';').map((pair) => {
    const eq = pair.indexOf('=');
    return (eq === -1 ? pair : pair.slice(0, eq)).trim();
  });
}

/**
 * The refresh cookie the request carries. Throws refresh_cookie_conflict when it carries more than one
 * (either name, any number of times): the caller must then set and clear nothing.
 */
export function readRefreshCookie(request: FastifyRequest, domain: string | undefined): PresentedRefresh {
  const { current, other } = schemes(domain);
  const names = cookieNames(request.headers.cookie).filter((n) => n === current.name || n === other.name);
  if (names.length > 1)
    throw new AppError('refresh_cookie_conflict', { detail: `${names.length} refresh cookies in one request` });
  if (names.length === 0) return { token: undefined, replaceOther: false };
  return { token: request.cookies[names[0]!] || undefined, replaceOther: names[0] === other.name };
}

/**
 * For login, which reads no refresh cookie: whether the request carries the other scheme's cookie, which
 * the new one must replace (else the next refresh would carry both and be refused as a conflict).
 */
export function otherSchemeOf(request: FastifyRequest, domain: string | undefined): PresentedRefresh {
  const { other } = schemes(domain);
  return { token: undefined, replaceOther: cookieNames(request.headers.cookie).includes(other.name) };
}

export function setRefreshCookie(
  reply: FastifyReply,
  token: string,
  expiresAt: Date,
  now: Date,
  domain: string | undefined,
  presented?: PresentedRefresh,
): void {
  const { current, other } = schemes(domain);
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000));
  reply.setCookie(current.name, token, { ...current.options, maxAge });
  if (presented?.replaceOther) reply.clearCookie(other.name, other.options);
}

export function clearRefreshCookie(
  reply: FastifyReply,
  domain: string | undefined,
  presented?: PresentedRefresh,
): void {
  const { current, other } = schemes(domain);
  reply.clearCookie(current.name, current.options);
  if (presented?.replaceOther) reply.clearCookie(other.name, other.options);
}
