// What a Tessera access token is, in names, numbers and rules that Tessera (src/domain/tokens/access-tokens.ts,
// keys.ts, key-files.ts) and @tessera/verify must agree on. One definition here, exported as
// `@tessera/verify/contract`; this package depends on jose only, so Tessera imports from it and not the
// other way round: the issuer and the verifier can't drift apart.

/** Header `typ` of every access token (RFC 9068). */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/**
 * The algorithms Tessera signs with (its SIGNING_ALG), and so the only ones a verifier accepts.
 * Asymmetric only: 'none' and HS* (which would verify with the public key as an HMAC secret) never.
 */
export const ACCESS_TOKEN_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;
export type TesseraAlgorithm = (typeof ACCESS_TOKEN_ALGORITHMS)[number];

/** Claims every access token carries (RFC 9068 §2.2). User tokens also carry `sid`; client tokens `scope`. */
export const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'jti', 'iat', 'exp'] as const;

/** Tessera's ids (user, session, token) are lowercase UUIDs, as `crypto.randomUUID()` and PostgreSQL write them. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Far larger than any token Tessera signs; anything bigger is refused before it is parsed. */
export const MAX_TOKEN_LENGTH = 8192;

/** Tessera's default ACCESS_TOKEN_TTL_SECONDS: every token it signs has exp − iat equal to its TTL. */
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 900;

/**
 * Clock difference tolerated between Tessera's instances and verifiers: in a token's lifetime
 * (exp − iat may exceed the TTL by this much, no more) and in a retired key's last signing moment.
 */
export const CLOCK_SKEW_SECONDS = 60;

/**
 * Member of a retired key's entry in Tessera's JWKS: the NumericDate after which no genuine token was
 * signed with it (retirement + KEYS_RELOAD_SECONDS + skew). A token of that key issued later, or expiring
 * later than this plus the token TTL (past the key's publication tail), was minted with a leaked key.
 * Other JOSE libraries ignore unknown members (RFC 7517 §4).
 */
export const SIGNED_UNTIL_MEMBER = 'tessera_signed_until';

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID_PATTERN.test(v);

/**
 * Why a verified payload doesn't have the shape Tessera signs, or null when it does. `sub` (the user)
 * and `sid` (the session) must be UUIDs: Tessera writes nothing else there, services key their data on
 * them, and a string that is not one never reaches a uuid column. So even a token signed with a leaked
 * key can't name a made-up user.
 */
export function claimsProblem(p: Record<string, unknown>): string | null {
  const { sub, sid, jti, iat, exp, iss, aud, client_id, auth_time, roles, scope } = p;
  if (sid !== undefined) {
    // A user token: the user and the session it belongs to.
    if (!isUuid(sub)) return 'sub claim is not a UUID';
    if (!isUuid(sid)) return 'sid claim is not a UUID';
  } else if (!isString(sub) || sub !== client_id || !isString(scope)) {
    // A service token (client_credentials) has no session: it is about the client itself.
    return 'sid, or client_id = sub and scope, are required';
  }
  if (!isString(jti)) return 'jti must be a non-empty string';
  if (!isNumber(iat) || !isNumber(exp) || !isString(iss)) return 'iat, exp and iss are required';
  if (!isString(aud) && !(Array.isArray(aud) && aud.length > 0 && aud.every(isString)))
    return 'aud must be a string or an array of strings';
  if (client_id !== undefined && !isString(client_id)) return 'client_id must be a string';
  if (auth_time !== undefined && !isNumber(auth_time)) return 'auth_time must be a number';
  if (roles !== undefined && !(Array.isArray(roles) && roles.every(isString)))
    return 'roles must be an array of strings';
  if (scope !== undefined && !isString(scope)) return 'scope must be a string';
  return null;
}

/** Why a token's dates don't fit the contract, or null when they do. Times in seconds. */
export function lifetimeProblem(
  claims: { iat: number; exp: number },
  ttlSeconds: number,
  now: number,
  signedUntil: number | undefined,
): string | null {
  if (claims.exp - claims.iat > ttlSeconds + CLOCK_SKEW_SECONDS)
    return 'lifetime (exp - iat) longer than the access-token TTL';
  if (claims.iat > now + CLOCK_SKEW_SECONDS) return 'issued in the future';
  if (signedUntil !== undefined) {
    if (claims.iat > signedUntil) return 'issued after its key was retired';
    if (claims.exp > signedUntil + ttlSeconds + CLOCK_SKEW_SECONDS) return "expires after its key's publication tail";
  }
  return null;
}
