// The OpenID Connect side of an OAuth client's tokens: the ID token (Core §2: aud = the client, nonce,
// auth_time, amr, sid of the browser session, at_hash), checking an OAuth grant's access token (issued by
// src/domain/tokens/token-issuer.ts: client_id = the OAuth client, scope, sid = the grant's session) for
// userinfo and introspection, and reading an id_token_hint. What tells a client's access token apart from
// Tessera's own session token is its `scope` claim: the Bearer routes of /auth refuse it (access-tokens.ts),
// so a third-party app can't change a password.
import { createHash } from 'node:crypto';
import { SignJWT, compactVerify } from 'jose';
import { ACCESS_TOKEN_ALGORITHMS, MAX_TOKEN_LENGTH } from '@tessera/verify/contract';
import { epochSeconds, type Clock } from '../clock.js';
import type { KeyStore } from '../keys/keys.js';
import { TokenInvalid, verifySigned } from '../tokens/access-tokens.js';
import { authMethod, type GrantClaims, type OAuthGrant } from '../tokens/token-issuer.js';

export interface GrantTokenSettings {
  issuer: string;
  ttlSeconds: number;
  idTokenTtlSeconds: number;
}

export interface IdTokenSubject extends OAuthGrant {
  /** The browser session the user signed in with (the ID token's sid, for RP-initiated logout). */
  browserSessionId: string;
  nonce: string | null;
  email: string;
  emailVerified: boolean;
}

/** The claims an ID token adds to the access-token contract's, for discovery's claims_supported. */
export const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'azp', 'email'] as const;

/** OIDC Core §3.1.3.6: the left half of the access token's hash, with the hash of the signing algorithm. */
function accessTokenHash(accessToken: string, alg: string): string {
  const hash = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256')
    .update(accessToken, 'ascii')
    .digest();
  return hash.subarray(0, hash.length / 2).toString('base64url');
}

export class GrantTokens {
  constructor(
    private readonly keys: KeyStore,
    private readonly settings: GrantTokenSettings,
    private readonly clock: Clock,
  ) {}

  async idToken(s: IdTokenSubject, accessToken: string): Promise<string> {
    const now = epochSeconds(this.clock.now());
    const { kid, alg, privateKey } = this.keys.signing;
    const email = s.scope.includes('email') ? { email: s.email, email_verified: s.emailVerified } : {};
    return new SignJWT({
      auth_time: epochSeconds(s.authTime),
      ...authMethod(s.idp, s.amr),
      sid: s.browserSessionId,
      azp: s.clientId,
      at_hash: accessTokenHash(accessToken, alg),
      ...(s.nonce ? { nonce: s.nonce } : {}),
      ...email,
    })
      .setProtectedHeader({ alg, typ: 'JWT', kid })
      .setIssuer(this.settings.issuer)
      .setSubject(s.userId)
      .setAudience(s.clientId)
      .setIssuedAt(now)
      .setExpirationTime(now + this.settings.idTokenTtlSeconds)
      .sign(privateKey);
  }

  /** An access token issued to an OAuth client (any audience: callers check); TokenInvalid otherwise. */
  async verifyAccess(token: string): Promise<GrantClaims> {
    const payload = await verifySigned(token, this.keys, this.clock, {
      issuer: this.settings.issuer,
      ttlSeconds: this.settings.ttlSeconds,
      requiredClaims: ['iss', 'aud', 'sub', 'sid', 'client_id', 'scope', 'jti', 'iat', 'exp'],
    });
    if (typeof payload.scope !== 'string' || typeof payload.sid !== 'string' || typeof payload.client_id !== 'string')
      throw new TokenInvalid('not a token of an OAuth grant');
    return payload as unknown as GrantClaims;
  }

  /**
   * An ID token this server issued, for id_token_hint (OIDC RP-Initiated Logout §2): the signature, issuer
   * and audience must hold; an expired one is still a hint (the spec allows it), so exp is not checked.
   */
  async verifyIdTokenHint(token: string): Promise<{ sub: string; aud: string; sid?: string } | null> {
    if (token.length > MAX_TOKEN_LENGTH) return null;
    try {
      const { payload, protectedHeader } = await compactVerify(
        token,
        (header) => {
          const key = this.keys.verificationKey(header.kid);
          if (!key || key.alg !== header.alg) throw new TokenInvalid('unknown key or algorithm');
          return key.publicKey;
        },
        { algorithms: [...ACCESS_TOKEN_ALGORITHMS] },
      );
      if (protectedHeader.typ !== 'JWT') return null;
      const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
      if (claims.iss !== this.settings.issuer || typeof claims.aud !== 'string' || typeof claims.sub !== 'string')
        return null;
      return { sub: claims.sub, aud: claims.aud, ...(typeof claims.sid === 'string' ? { sid: claims.sid } : {}) };
    } catch {
      return null;
    }
  }
}
