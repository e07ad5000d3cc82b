// The tokens an OAuth client gets for a user: an access token (RFC 9068, the same keys, typ and contract as
// Tessera's own, plus client_id = the OAuth client, scope, and aud = the resource it asked for) and an
// OpenID Connect ID token (Core §2: aud = the client, nonce, auth_time, amr, sid of the browser session,
// at_hash). What tells a client's token apart from Tessera's own session token is its `scope` claim: the
// Bearer routes of /auth refuse it (access-tokens.ts), so a third-party app can't change a password.
import { createHash, randomUUID } from 'node:crypto';
import { SignJWT, compactVerify } from 'jose';
import { ACCESS_TOKEN_ALGORITHMS, ACCESS_TOKEN_TYPE, MAX_TOKEN_LENGTH } from '@tessera/verify/contract';
import { epochSeconds, type Clock } from '../clock.js';
import type { KeyStore } from '../keys/keys.js';
import { TokenInvalid, verifySigned } from '../tokens/access-tokens.js';

export interface GrantTokenSettings {
  issuer: string;
  ttlSeconds: number;
  idTokenTtlSeconds: number;
}

/** What a grant stands on: the user, the grant's session, what was granted, and how the user signed in. */
export interface GrantSubject {
  userId: string;
  clientId: string;
  /** The grant's session (access tokens' sid: introspection and revocation follow it). */
  grantSessionId: string;
  scope: string[];
  audience: string[];
  authTime: Date;
  idp: string | null;
  roles: string[];
}

export interface IdTokenSubject extends GrantSubject {
  /** The browser session the user signed in with (the ID token's sid, for RP-initiated logout). */
  browserSessionId: string;
  nonce: string | null;
  email: string;
  emailVerified: boolean;
}

export interface GrantClaims {
  iss: string;
  sub: string;
  sid: string;
  client_id: string;
  scope: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  auth_time?: number;
}

const amrOf = (idp: string | null) => (idp ? ['fed'] : ['pwd']);

/** OIDC Core §3.1.3.6: the left half of the access token's hash, with the hash of the signing algorithm. */
export function accessTokenHash(accessToken: string, alg: string): string {
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

  get ttlSeconds(): number {
    return this.settings.ttlSeconds;
  }

  async accessToken(s: GrantSubject): Promise<string> {
    const now = epochSeconds(this.clock.now());
    const { kid, alg, privateKey } = this.keys.signing;
    return new SignJWT({
      client_id: s.clientId,
      sid: s.grantSessionId,
      scope: s.scope.join(' '),
      auth_time: epochSeconds(s.authTime),
      amr: amrOf(s.idp),
      ...(s.roles.length ? { roles: s.roles } : {}),
    })
      .setProtectedHeader({ alg, typ: ACCESS_TOKEN_TYPE, kid })
      .setIssuer(this.settings.issuer)
      .setSubject(s.userId)
      .setAudience(s.audience.length === 1 ? s.audience[0]! : s.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.settings.ttlSeconds)
      .setJti(randomUUID())
      .sign(privateKey);
  }

  async idToken(s: IdTokenSubject, accessToken: string): Promise<string> {
    const now = epochSeconds(this.clock.now());
    const { kid, alg, privateKey } = this.keys.signing;
    const email = s.scope.includes('email') ? { email: s.email, email_verified: s.emailVerified } : {};
    return new SignJWT({
      auth_time: epochSeconds(s.authTime),
      amr: amrOf(s.idp),
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
