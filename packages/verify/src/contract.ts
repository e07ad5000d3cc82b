// What a Tessera access token is, in numbers and names that Tessera (src/domain/access-tokens.ts, keys.ts)
// and tessera/verify must agree on. One definition here; this folder depends on jose only, so Tessera
// imports from it and not the other way round.

/** Header `typ` of every access token (RFC 9068). */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

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

/** Why a token's dates don't fit the contract, or null when they do. Times in seconds. */
export function lifetimeProblem(
  claims: { iat: number; exp: number },
  ttlSeconds: number,
  now: number,
  signedUntil: number | undefined,
): string | null {
  if (claims.exp - claims.iat > ttlSeconds + CLOCK_SKEW_SECONDS) return 'lifetime (exp - iat) longer than the access-token TTL';
  if (claims.iat > now + CLOCK_SKEW_SECONDS) return 'issued in the future';
  if (signedUntil !== undefined) {
    if (claims.iat > signedUntil) return 'issued after its key was retired';
    if (claims.exp > signedUntil + ttlSeconds + CLOCK_SKEW_SECONDS) return "expires after its key's publication tail";
  }
  return null;
}
