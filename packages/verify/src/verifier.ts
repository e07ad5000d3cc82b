// createVerifier: checks a Tessera access token locally against the issuer's JWKS and, on request,
// asks the issuer whether it is still active.
import {
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type CompactJWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { toClaims, type TesseraClaims } from './claims.js';
import { TesseraVerifyError } from './errors.js';
import { introspect } from './introspection.js';
import {
  ACCESS_TOKEN_TYPE,
  MAX_TOKEN_LENGTH,
  REQUIRED_CLAIMS,
  SIGNED_UNTIL_MEMBER,
  lifetimeProblem,
} from './contract.js';
import { resolveOptions, type VerifierOptions } from './options.js';
import { checkRequirements, type Requirements } from './require.js';

export { MAX_TOKEN_LENGTH };

export interface VerifyOptions extends Requirements {
  /** Also ask Tessera (RFC 7662) whether the token is still active: sees logout and revocation at once. */
  introspect?: boolean;
}

export interface TesseraVerifier {
  /** The token's claims; otherwise throws TesseraVerifyError (see its codes). */
  verify(token: string, opts?: VerifyOptions): Promise<TesseraClaims>;
}

/** Marks a failure to obtain the key set, as opposed to a token the key set refutes. */
class JwksFetchFailed extends Error {}

// Failures of the key lookup that are about the token, not about fetching the key set.
const TOKEN_KEY_ERRORS = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys, errors.JOSENotSupported];

const invalid = (cause: unknown) => new TesseraVerifyError('invalid_token', { cause });

export function createVerifier(options: VerifierOptions): TesseraVerifier {
  const o = resolveOptions(options);
  // jose caches the set for cacheMaxAge and refetches it when a token names an unknown kid,
  // at most once per cooldown: a flood of made-up kids cannot turn into a flood of fetches.
  const jwks = createRemoteJWKSet(o.jwksUrl, {
    cacheMaxAge: o.cacheMaxAgeMs,
    cooldownDuration: o.cooldownMs,
    timeoutDuration: o.jwksTimeoutMs,
  });

  const getKey: JWTVerifyGetKey = async (header, token) => {
    // Tessera always names its key; without a kid jose would try every key of the set.
    if (typeof header.kid !== 'string') throw new errors.JWSInvalid('the token header has no kid');
    try {
      return await jwks(header, token);
    } catch (err) {
      if (TOKEN_KEY_ERRORS.some((E) => err instanceof E)) throw err;
      throw new JwksFetchFailed('JWKS unavailable', { cause: err });
    }
  };

  return {
    async verify(token, opts = {}) {
      if (typeof token !== 'string' || token.length === 0) throw invalid(new Error('no token'));
      if (token.length > MAX_TOKEN_LENGTH) throw invalid(new Error('token too large'));
      let payload: JWTPayload;
      let protectedHeader: CompactJWSHeaderParameters;
      try {
        ({ payload, protectedHeader } = await jwtVerify(token, getKey, {
          algorithms: o.algorithms,
          typ: ACCESS_TOKEN_TYPE,
          issuer: o.issuer,
          audience: o.audience,
          clockTolerance: o.clockTolerance,
          requiredClaims: [...REQUIRED_CLAIMS],
        }));
      } catch (err) {
        if (err instanceof JwksFetchFailed) throw new TesseraVerifyError('jwks_unavailable', { cause: err.cause });
        throw invalid(err);
      }
      const claims = toClaims(payload);
      if (typeof claims === 'string') throw invalid(new Error(claims));
      // The key that verified it is in the cached set; a retired one says until when it signed.
      const jwk = jwks.jwks()?.keys.find((k) => k.kid === protectedHeader.kid) as Record<string, unknown> | undefined;
      const signedUntil = typeof jwk?.[SIGNED_UNTIL_MEMBER] === 'number' ? jwk[SIGNED_UNTIL_MEMBER] : undefined;
      const problem = lifetimeProblem(claims, o.accessTokenTtlSeconds, Math.floor(Date.now() / 1000), signedUntil);
      if (problem) throw invalid(new Error(problem));
      checkRequirements(claims, opts);

      if (opts.introspect) {
        if (!o.introspection)
          throw new TypeError('@tessera/verify: verify(token, { introspect: true }) needs the introspection option');
        await introspect(token, o.introspection);
      }
      return claims;
    },
  };
}
