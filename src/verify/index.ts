/**
 * # tessera/verify: check Tessera access tokens in another service
 *
 * A small verifier for services that accept Tessera's access tokens. It depends on `jose` and, for
 * the Fastify plugin, `fastify-plugin`, and on nothing else of Tessera: the folder `src/verify/` can
 * be copied into another service as it is.
 *
 * ## Import
 *
 * ```ts
 * import { createVerifier, tesseraAuth, TesseraVerifyError, type TesseraClaims } from 'tessera/verify';
 * ```
 *
 * Inside this repository `tessera/verify` resolves by self-reference: run from source with
 * `node --conditions=development --import tsx …` (TypeScript: `"customConditions": ["development"]`),
 * or from `dist/` after `npm run build`. Elsewhere, depend on this package (workspace or git) or copy
 * `src/verify/` and import `./verify/index.js`.
 *
 * ## As a function
 *
 * ```ts
 * const verifier = createVerifier({
 *   issuer: 'https://auth.example.com',   // Tessera's ISSUER, exactly as in the `iss` claim
 *   audience: 'orders-api',               // one of Tessera's AUDIENCE values
 * });
 * try {
 *   const claims = await verifier.verify(token);   // { sub, sid, jti, iat, exp, iss, aud, client_id?, auth_time? }
 * } catch (err) {
 *   if (err instanceof TesseraVerifyError) console.log(err.code);   // see "Errors"
 *   else throw err;
 * }
 * ```
 *
 * ## As a Fastify plugin
 *
 * ```ts
 * await app.register(tesseraAuth, {
 *   issuer: 'https://auth.example.com',
 *   audience: 'orders-api',
 *   introspection: { clientId: 'orders-api', clientSecret: process.env.TESSERA_CLIENT_SECRET! },
 * });
 * app.get('/orders', { preHandler: app.requireAuth() }, async (request) => listOrders(request.auth!.sub));
 * app.post('/refunds', { preHandler: app.requireAuth({ introspect: true }) }, async (request) => refund(request.auth!.sub));
 * ```
 *
 * `requireAuth()` reads `Authorization: Bearer <token>` (scheme case-insensitive), sets `request.auth`
 * to the claims, and otherwise answers JSON `{ code, message }`:
 *
 * | status | code | when |
 * |---|---|---|
 * | 401 | `missing_token` | no `Authorization: Bearer` header (`WWW-Authenticate: Bearer`) |
 * | 401 | `invalid_token` | the token fails any check below (`WWW-Authenticate: Bearer error="invalid_token"`) |
 * | 401 | `token_revoked` | introspection says the token is no longer active (same challenge) |
 * | 403 | `insufficient_scope` | a role or scope the route requires is missing (see "Roles, scopes…") |
 * | 503 | `jwks_unavailable` | Tessera's JWKS could not be fetched |
 * | 503 | `introspection_unavailable` | introspection was required and gave no answer |
 *
 * The plugin also exposes the verifier as `app.tessera`. Bad options throw a TypeError at
 * `register`, and `requireAuth({ introspect: true })` without the `introspection` option throws when
 * the route is declared: a misconfigured service fails at boot.
 *
 * ## What is checked
 *
 * - signature, with a key from the issuer's JWKS chosen by the header's `kid` (required); the
 *   algorithm is pinned to `algorithms` (default RS256, ES256, EdDSA; `none` and HS* are refused in
 *   the options, so a token can never choose an HMAC "secret" that is really the public key);
 *   `jku`, `x5u` and `jwk` headers are never followed;
 * - header `typ: at+jwt` (RFC 9068), so an ID token or another JWT can't pass as an access token;
 * - `iss` equals `issuer`, `aud` contains one of `audience`;
 * - `exp` and `iat` against the local clock, with `clockToleranceSeconds` (default 5) of skew;
 * - the token's lifetime: `exp − iat` no longer than `accessTokenTtlSeconds` (default 900, Tessera's
 *   default `ACCESS_TOKEN_TTL_SECONDS`: set it to Tessera's value) plus 60 s, and `iat` not in the future;
 *   Tessera never signs a longer-lived token, so one was minted with a leaked key;
 * - for a key Tessera has retired (its JWKS entry carries `tessera_signed_until`): `iat` no later than
 *   that, and `exp` within the key's publication tail (that + the TTL + 60 s). A retirement is seen from
 *   the next JWKS fetch, within `jwksCacheMaxAgeSeconds`;
 * - `sub`, `sid`, `jti`, `iat`, `exp` present and well-typed;
 * - tokens over 8192 characters are refused before parsing.
 *
 * ## Keys: caching and refetch
 *
 * The JWKS (default `${issuer}/.well-known/jwks.json`) is fetched on the first token and kept for
 * `jwksCacheMaxAgeSeconds` (default 300, like Tessera's `JWKS_MAX_AGE_SECONDS`; keep it no longer than that). A token whose `kid` is not in the cached set triggers one
 * refetch, so a key Tessera has just started signing with is picked up without a restart; such
 * refetches happen at most once per `jwksCooldownSeconds` (default 30), so a flood of tokens with
 * made-up kids costs Tessera at most one request per cooldown. Concurrent lookups share one fetch.
 * If the set can't be fetched (network error, timeout after `jwksTimeoutMs`, non-200, not a JWKS)
 * the error is `jwks_unavailable` (503), not `invalid_token`: the token was not judged.
 *
 * Tessera's key rotation publishes a key at least `JWKS_MAX_AGE_SECONDS + KEYS_RELOAD_SECONDS`
 * (330 s by default) before it signs, so a new kid is either in the cached set already or met
 * more than a cooldown after the last fetch, and refetched at once. The cache age here does not
 * follow the JWKS `Cache-Control` header; the refetch on an unknown kid covers the difference.
 * Keep `jwksCooldownSeconds` below that lead. After an emergency `npm run keys -- rotate --now`,
 * a verifier that fetched the set less than a cooldown ago refuses new tokens until the cooldown ends.
 *
 * ## Revocation: introspection, failing closed
 *
 * Access tokens are stateless: after logout or revocation a token still passes local verification
 * until it expires (15 minutes by default). For requests where that is too long (payments, changes
 * of credentials…), use `verify(token, { introspect: true })` / `requireAuth({ introspect: true })`.
 * After the local checks pass, it POSTs the token to Tessera's RFC 7662 endpoint (default
 * `${issuer}/oauth/introspect`) as `application/x-www-form-urlencoded`
 * `token=…&token_type_hint=access_token`, authenticated with HTTP Basic `clientId:clientSecret`
 * (each form-urlencoded first, RFC 6749 §2.3.1); these are the service's credentials from Tessera's
 * `SERVICE_CLIENTS`. `active: false` is `token_revoked`. Any failure to get a clear answer
 * (connection refused, timeout after `timeoutMs` (default 3000), non-200, malformed JSON) is
 * `introspection_unavailable`: the request is refused (503), never let through.
 *
 * ## Roles, scopes and the kind of token
 *
 * Tessera signs user tokens (with `sid`, and `roles` when the user has any) and service tokens from
 * `client_credentials` (no `sid`; `sub` = `client_id`; `scope`). `verify` and `requireAuth` accept
 * user tokens only unless told otherwise, and can ask for roles or scopes (all of those listed):
 *
 * ```ts
 * app.get('/reports', { preHandler: app.requireAuth({ roles: ['support'] }) }, …);        // a user with role support
 * app.post('/sync', { preHandler: app.requireAuth({ kind: 'client', scopes: ['orders:sync'] }) }, …); // a service
 * requireRoles(claims, 'admin');      // the same checks on claims you already hold; tokenKind(claims) → 'user' | 'client'
 * ```
 *
 * A token of the wrong kind is `invalid_token` (401); a valid token without the role or scope is
 * `insufficient_scope`: 403 with `WWW-Authenticate: Bearer error="insufficient_scope"` (and `scope="…"`
 * naming the scopes needed), as RFC 6750 §3.1 says.
 *
 * ## Errors
 *
 * `verify` throws only `TesseraVerifyError` (apart from a TypeError for `introspect: true` without
 * the `introspection` option). Its `code` is stable: `invalid_token`, `token_revoked`,
 * `introspection_unavailable`, `jwks_unavailable`, `insufficient_scope`; its `message` is safe to show a client; `cause`
 * holds the underlying jose or network error, for logs.
 *
 * @module
 */
export { createVerifier, MAX_TOKEN_LENGTH, type TesseraVerifier, type VerifyOptions } from './verifier.js';
export { TesseraVerifyError, type TesseraVerifyErrorCode } from './errors.js';
export type { TesseraClaims } from './claims.js';
export type { VerifierOptions, IntrospectionOptions, TesseraAlgorithm } from './options.js';
export { default as tesseraAuth, type TesseraAuthCode } from './fastify.js';
export { requireRoles, requireScopes, tokenKind, type Requirements, type TokenKind } from './require.js';
