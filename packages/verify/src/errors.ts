// The one error verify() throws. `code` is stable (callers and the Fastify plugin branch on it);
// the message is safe to show a client; the underlying jose or network error stays in `cause`, for logs.

export type TesseraVerifyErrorCode =
  /** Bad signature, expired, wrong iss/aud/typ, unknown kid (even after a JWKS refetch), malformed. */
  | 'invalid_token'
  /** Tessera's introspection endpoint says the token is no longer active (session revoked, logged out). */
  | 'token_revoked'
  /** The introspection endpoint could not give an answer. Fail closed: the request is refused. */
  | 'introspection_unavailable'
  /** The JWKS could not be fetched, so the token could be neither accepted nor refused. */
  | 'jwks_unavailable'
  /** The token is valid but lacks a role or scope the route requires (require.ts): 403. */
  | 'insufficient_scope'
  /** RFC 9470: the user's authentication is below the level, or older than the age, the route requires: 401. */
  | 'insufficient_user_authentication';

const MESSAGES: Record<TesseraVerifyErrorCode, string> = {
  invalid_token: 'the access token is invalid or expired',
  token_revoked: 'the access token has been revoked',
  introspection_unavailable: 'the token could not be checked with the issuer; try again later',
  jwks_unavailable: "the issuer's signing keys could not be fetched; try again later",
  insufficient_scope: 'the access token lacks a role or scope this request requires',
  insufficient_user_authentication: 'a more recent or stronger authentication is required (step up)',
};

export class TesseraVerifyError extends Error {
  override name = 'TesseraVerifyError';
  readonly code: TesseraVerifyErrorCode;
  /** For insufficient_scope: the scopes the request needs (the challenge's `scope` attribute). */
  readonly scope: string | undefined;
  /** For insufficient_user_authentication: the acr values (space-separated) and max_age the route requires. */
  readonly acrValues: string | undefined;
  readonly maxAge: number | undefined;

  constructor(
    code: TesseraVerifyErrorCode,
    options?: { cause?: unknown; scope?: string; acrValues?: string; maxAge?: number },
  ) {
    super(MESSAGES[code], options);
    this.code = code;
    this.scope = options?.scope;
    this.acrValues = options?.acrValues;
    this.maxAge = options?.maxAge;
  }
}
