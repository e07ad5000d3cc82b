// Access tokens: JWTs per RFC 9068 (typ "at+jwt"), signed by the active key (RS256 unless SIGNING_ALG says
// ES256 or EdDSA) in token-issuer.ts, which decides their claims. Verification pins the algorithm to the one of the key the kid names, checks the type,
// iss, aud and exp against the injected clock, and resolves keys only from our own key store (jku, x5u
// and jwk headers are never followed). A token is also held to the contract its claims and dates must
// keep (@tessera/verify/contract, the rules the verifier package applies too): sub and sid UUIDs, exp − iat
// no longer than ACCESS_TOKEN_TTL_SECONDS (plus skew), and for a retired key, issued before it stopped signing and expiring within its publication tail. So a leaked
// key can't mint long-lived or backdated tokens, whatever the iat and exp it writes.
import { errors as joseErrors, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose';
import {
  ACCESS_TOKEN_ALGORITHMS,
  ACCESS_TOKEN_TYPE,
  MAX_TOKEN_LENGTH,
  REQUIRED_CLAIMS,
  claimsProblem,
  lifetimeProblem,
  type TesseraClaims,
} from '@tessera/verify/contract';
import { epochSeconds, type Clock } from '../clock.js';
import type { KeyStore, VerificationKey } from '../keys/keys.js';
import { VerifiedTokens } from './verified-tokens.js';

export { ACCESS_TOKEN_TYPE } from '@tessera/verify/contract';
/** Larger than any token we sign by far; anything bigger is refused before any parsing. */
const MAX_ACCESS_TOKEN_LENGTH = MAX_TOKEN_LENGTH;

export interface AccessTokenSettings {
  issuer: string;
  audience: string[];
  ttlSeconds: number;
}

/** A verified user token: the contract's claims, with the session every user token names. */
export type AccessClaims = TesseraClaims & { sid: string };

export class TokenInvalid extends Error {
  override name = 'TokenInvalid';
  constructor(readonly reason: string) {
    super(reason);
  }
}

export class AccessTokens {
  private readonly verified: VerifiedTokens;

  constructor(
    private readonly keys: KeyStore,
    private readonly settings: AccessTokenSettings,
    private readonly clock: Clock,
  ) {
    this.verified = new VerifiedTokens(keys, clock, settings.ttlSeconds);
  }

  get ttlSeconds(): number {
    return this.settings.ttlSeconds;
  }

  /** Verifies a user's access token; throws TokenInvalid with a log-only reason. */
  async verify(token: string): Promise<AccessClaims> {
    // A token verified before: only what the time or the key store can change is checked again (verified-tokens.ts).
    const known = this.verified.lookup(token);
    if (known) return known as unknown as AccessClaims;
    const { payload, kid, key } = await verifySignedWithKey(token, this.keys, this.clock, {
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      ttlSeconds: this.settings.ttlSeconds,
      requiredClaims: [...REQUIRED_CLAIMS],
    });
    // The verifier package's claim rule: a user token's sub and sid are UUIDs, so nothing else reaches a uuid column.
    const shape = claimsProblem(payload);
    if (shape) throw new TokenInvalid(shape);
    // Tessera's own Bearer routes are a user's: a service token (client_credentials, no session) is not one.
    if (payload.sid === undefined) throw new TokenInvalid('a service token, not a user token');
    // Nor is a token an OAuth client got for a user (src/domain/oauth/grant-tokens.ts: it carries scope).
    if (payload.scope !== undefined) throw new TokenInvalid("an OAuth client's token, not Tessera's own");
    this.verified.remember(token, kid, key, payload);
    return payload as unknown as AccessClaims;
  }
}

/**
 * The one check of a token Tessera signed, user's or service client's (src/domain/tokens/client-tokens.ts):
 * size, our own keys only (kid → key, the key's own algorithm), typ, iss, aud when given, exp against the
 * clock, and the contract's lifetime rule. The caller then checks the claims of its kind.
 */
export async function verifySigned(
  token: string,
  keys: KeyStore,
  clock: Clock,
  rules: { issuer: string; audience?: string[]; ttlSeconds: number; requiredClaims: string[] },
): Promise<JWTPayload> {
  return (await verifySignedWithKey(token, keys, clock, rules)).payload;
}

/** verifySigned, also saying which key (by kid) verified the token. */
async function verifySignedWithKey(
  token: string,
  keys: KeyStore,
  clock: Clock,
  rules: { issuer: string; audience?: string[]; ttlSeconds: number; requiredClaims: string[] },
): Promise<{ payload: JWTPayload; kid: string; key: VerificationKey }> {
  if (token.length > MAX_ACCESS_TOKEN_LENGTH) throw new TokenInvalid('token too large');
  try {
    let key: VerificationKey | undefined;
    let kid = '';
    const { payload } = await jwtVerify(
      token,
      (header: JWTHeaderParameters) => {
        key = keyFor(keys, header);
        kid = header.kid as string;
        return key.publicKey;
      },
      {
        algorithms: [...ACCESS_TOKEN_ALGORITHMS],
        typ: ACCESS_TOKEN_TYPE,
        issuer: rules.issuer,
        ...(rules.audience ? { audience: rules.audience } : {}),
        currentDate: clock.now(),
        requiredClaims: rules.requiredClaims,
      },
    );
    const signedUntil = key?.signedNoLaterThan ? epochSeconds(key.signedNoLaterThan) : undefined;
    const problem = lifetimeProblem(
      payload as { iat: number; exp: number },
      rules.ttlSeconds,
      epochSeconds(clock.now()),
      signedUntil,
    );
    if (problem) throw new TokenInvalid(problem);
    return { payload, kid, key: key! };
  } catch (err) {
    if (err instanceof TokenInvalid) throw err;
    if (err instanceof joseErrors.JOSEError) throw new TokenInvalid(`${err.code}: ${err.message}`);
    throw err;
  }
}

function keyFor(keys: KeyStore, header: JWTHeaderParameters): VerificationKey {
  const key = keys.verificationKey(header.kid);
  if (!key) throw new TokenInvalid('unknown kid');
  // Each key verifies with its own algorithm only: an RSA key never verifies a PS256 or HS256 token.
  if (header.alg !== key.alg) throw new TokenInvalid(`alg ${String(header.alg)} does not match the key's ${key.alg}`);
  return key;
}
