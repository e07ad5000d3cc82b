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

/**
 * Every claim Tessera writes in an access token, with its JSON type: the one list. Tessera's token issuer
 * (src/domain/tokens/token-issuer.ts) writes no other, this package returns every one (claims.ts), RFC 7662
 * introspection answers with the same set and discovery's `claims_supported` is these names. A unit test
 * (test/unit/claims-contract.test.ts) fails when one of the four knows a claim the others don't.
 * The next claims (`cnf` for sender-constrained tokens) are added here first.
 */
export const CLAIM_TYPES = {
  iss: 'string',
  sub: 'string',
  aud: 'audience',
  exp: 'number',
  iat: 'number',
  jti: 'string',
  /** User tokens: the session. */
  sid: 'string',
  client_id: 'string',
  /** User tokens: when the session's sign-in happened. */
  auth_time: 'number',
  /** User tokens: RFC 9068 §2.2.3.1 roles; absent when none. */
  roles: 'strings',
  /** Client tokens: the granted scopes, space-separated. */
  scope: 'string',
  /** User tokens: whether the account's address is verified. */
  email_verified: 'boolean',
  /** User tokens: RFC 8176 methods, ["pwd"] after a password, with "otp" and "mfa" after a second factor. */
  amr: 'strings',
  /** User tokens: the authentication level, one of ACR_VALUES. */
  acr: 'string',
  /** User tokens after a provider's sign-in: the identity provider's id. */
  idp: 'string',
} as const;
export type ClaimName = keyof typeof CLAIM_TYPES;
export const CLAIM_NAMES = Object.keys(CLAIM_TYPES) as ClaimName[];

/** The claims of a Tessera access token, typed: user tokens carry `sid`, client tokens `scope`. */
export interface TesseraClaims {
  /** The user id (a UUID), or for a service token the client id. */
  sub: string;
  /** The session id (a UUID): what logout and logout-all revoke. Absent from service clients' tokens (require.ts). */
  sid?: string;
  jti: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string | string[];
  client_id?: string;
  /** When the user logged in (seconds since the epoch). */
  auth_time?: number;
  /** The user's roles when the token was issued (RFC 9068 §2.2.3.1); absent when none. */
  roles?: string[];
  /** A client_credentials token's scopes, space-separated. */
  scope?: string;
  /** Whether the user's email address was verified when the token was issued. */
  email_verified?: boolean;
  /** How the user signed in (RFC 8176 values only): ["pwd"] for a password, plus "otp", "mfa" after a second factor. */
  amr?: string[];
  /** The authentication level (ACR_VALUES): "1" one factor, "2" two. */
  acr?: string;
  /** After a provider's sign-in: the identity provider's id in Tessera's configuration. */
  idp?: string;
}

// The interface names exactly the contract's claims: tsc fails here when one gains a claim the other lacks.
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies Exactly<keyof TesseraClaims, ClaimName>;

/**
 * The `acr` values Tessera writes, lowest first: "1" one factor (a password, or a provider's sign-in), "2" two
 * factors (amr holds "mfa"). A resource server demands a level with `acr_values` (RFC 9470).
 */
export const ACR_VALUES = ['1', '2'] as const;

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

const TYPE_CHECKS = {
  string: isString,
  number: isNumber,
  boolean: (v: unknown) => typeof v === 'boolean',
  strings: (v: unknown) => Array.isArray(v) && v.every(isString),
  audience: (v: unknown) => isString(v) || (Array.isArray(v) && v.length > 0 && v.every(isString)),
} as const satisfies Record<(typeof CLAIM_TYPES)[ClaimName], (v: unknown) => boolean>;

const TYPE_NAMES = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  strings: 'an array of strings',
  audience: 'a string or an array of strings',
} as const satisfies Record<(typeof CLAIM_TYPES)[ClaimName], string>;

/**
 * Why a verified payload doesn't have the shape Tessera signs, or null when it does. `sub` (the user)
 * and `sid` (the session) must be UUIDs: Tessera writes nothing else there, services key their data on
 * them, and a string that is not one never reaches a uuid column. So even a token signed with a leaked
 * key can't name a made-up user.
 */
export function claimsProblem(p: Record<string, unknown>): string | null {
  const { sub, sid, jti, iat, exp, iss, client_id, scope } = p;
  if (sid !== undefined) {
    // A user token: the user and the session it belongs to.
    if (!isUuid(sub)) return 'sub claim is not a UUID';
    if (!isUuid(sid)) return 'sid claim is not a UUID';
  } else if (!isString(client_id) || !isString(scope) || (sub !== client_id && !isUuid(sub))) {
    // A service token (client_credentials, or a service client's API key) has no session: it is about the
    // client itself (sub = client_id). A user's API-key token has none either: sub is the user (a UUID).
    return 'sid, or client_id and scope with sub = client_id or a user id, are required';
  }
  if (!isString(jti)) return 'jti must be a non-empty string';
  if (!isNumber(iat) || !isNumber(exp) || !isString(iss)) return 'iat, exp and iss are required';
  if (p.aud === undefined) return 'aud must be a string or an array of strings';
  for (const name of CLAIM_NAMES) {
    const value = p[name];
    if (value !== undefined && !TYPE_CHECKS[CLAIM_TYPES[name]](value))
      return `${name} must be ${TYPE_NAMES[CLAIM_TYPES[name]]}`;
  }
  return null;
}

/** The contract's claims of a payload whose shape checked out (claimsProblem), and nothing else. */
export function contractClaims(payload: object): TesseraClaims {
  const p = payload as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const name of CLAIM_NAMES) if (p[name] !== undefined) out[name] = p[name];
  return out as unknown as TesseraClaims;
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
