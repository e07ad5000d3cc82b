// requireRoles / requireScopes: what a verified token lets its bearer do. Tessera signs two kinds of access
// token with the same keys: a user's (it has `sid`, the session, and maybe `roles`) and a service client's
// from client_credentials (no `sid`; `sub` = `client_id`; `scope`). A route states which kind it accepts
// and what the token must carry; a token that verifies but falls short is 403 insufficient_scope with the
// RFC 6750 §3.1 challenge, never 401 (asking the user to log in again would not help).
import type { TesseraClaims } from './claims.js';
import { TesseraVerifyError } from './errors.js';

export type TokenKind = 'user' | 'client';

/** What a route asks of a token beyond a valid signature. */
export interface Requirements {
  /** Which kind of token is accepted: 'user' (the default, as before client tokens existed), 'client' or 'any'. */
  kind?: TokenKind | 'any';
  /** Every one of these roles (user tokens' `roles` claim). */
  roles?: string[];
  /** Every one of these scopes (client tokens' `scope` claim, space-separated). */
  scopes?: string[];
  /**
   * Step-up (RFC 9470): the token's `acr` must be one of these (Tessera: "1" one factor, "2" two). A token
   * below is 401 insufficient_user_authentication, whose challenge names acr_values and max_age.
   */
  acrValues?: string[];
  /** Step-up (RFC 9470): the user authenticated (`auth_time`) at most this many seconds ago. */
  maxAge?: number;
}

/**
 * A user's token names its session; a client_credentials token has none, and its subject is the client. A
 * token exchanged for an API key has none either (its subject is the key's owner): a machine's, so 'client'.
 */
export function tokenKind(claims: TesseraClaims): TokenKind {
  return claims.sid === undefined ? 'client' : 'user';
}

const scopesOf = (claims: TesseraClaims) => (claims.scope ?? '').split(' ').filter(Boolean);

/** Throws insufficient_scope unless the claims carry every role listed. */
export function requireRoles(claims: TesseraClaims, ...roles: string[]): TesseraClaims {
  const held = claims.roles ?? [];
  const missing = roles.filter((r) => !held.includes(r));
  if (missing.length > 0)
    throw new TesseraVerifyError('insufficient_scope', { cause: new Error(`missing roles: ${missing.join(' ')}`) });
  return claims;
}

/** Throws insufficient_scope (naming the scopes needed) unless the claims carry every scope listed. */
export function requireScopes(claims: TesseraClaims, ...scopes: string[]): TesseraClaims {
  const held = scopesOf(claims);
  const missing = scopes.filter((s) => !held.includes(s));
  if (missing.length > 0) {
    throw new TesseraVerifyError('insufficient_scope', {
      cause: new Error(`missing scopes: ${missing.join(' ')}`),
      scope: scopes.join(' '),
    });
  }
  return claims;
}

/** The kind first (the wrong kind of token is invalid for this route), then roles and scopes. */
export function checkRequirements(claims: TesseraClaims, req: Requirements): TesseraClaims {
  const kind = req.kind ?? 'user';
  if (kind !== 'any' && tokenKind(claims) !== kind) {
    throw new TesseraVerifyError('invalid_token', {
      cause: new Error(`a ${tokenKind(claims)} token where a ${kind} token is required`),
    });
  }
  if (req.roles?.length) requireRoles(claims, ...req.roles);
  if (req.scopes?.length) requireScopes(claims, ...req.scopes);
  if (req.acrValues?.length || req.maxAge !== undefined) requireAuthentication(claims, req, Date.now() / 1000);
  return claims;
}

/**
 * Throws insufficient_user_authentication unless the token's acr is among `acrValues` and its auth_time is at
 * most `maxAge` seconds before `now` (seconds since the epoch). The error carries both for the challenge.
 */
function requireAuthentication(
  claims: TesseraClaims,
  req: { acrValues?: string[] | undefined; maxAge?: number | undefined },
  now: number,
): TesseraClaims {
  const acrOk = !req.acrValues?.length || (claims.acr !== undefined && req.acrValues.includes(claims.acr));
  const ageOk = req.maxAge === undefined || (claims.auth_time !== undefined && now - claims.auth_time <= req.maxAge);
  if (!acrOk || !ageOk) {
    throw new TesseraVerifyError('insufficient_user_authentication', {
      cause: new Error(!acrOk ? `acr ${String(claims.acr)} not in ${req.acrValues!.join(' ')}` : 'auth_time too old'),
      ...(req.acrValues?.length ? { acrValues: req.acrValues.join(' ') } : {}),
      ...(req.maxAge !== undefined ? { maxAge: req.maxAge } : {}),
    });
  }
  return claims;
}
