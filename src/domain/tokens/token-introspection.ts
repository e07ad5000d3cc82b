// RFC 7662 introspection and RFC 7009 revocation, for registered service clients.
//
// Access tokens are stateless, so "is this token still good?" means: the signature and claims verify
// AND its session is still live. A refresh token is active when its MAC verifies, its counter is the
// session's current one and the session is live. Each answer is at most one statement. Revoking either
// kind of token ends its whole session: an access token can't be revoked alone, and a refresh token of
// any counter names its session. A client_credentials token has no session: revoking it lists its jti until
// it expires (src/domain/tokens/client-token-revocations.ts), which its verification then refuses.
import { contractClaims, type TesseraClaims } from '@tessera/verify/contract';
import type { Sql } from '../../db/sql.js';
import { TokenInvalid, type AccessTokens } from './access-tokens.js';
import type { RequestMeta } from '../audit.js';
import { epochSeconds, type Clock } from '../clock.js';
import type { RefreshTokens } from '../sessions/refresh-tokens.js';
import type { SessionLifecycle } from '../sessions/session-lifecycle.js';
import { liveSql } from '../sessions/session-state.js';
import { rolesOf, rolesSql } from '../sessions/user-claims.js';
import type { ClientTokens } from './client-tokens.js';
import type { ClientTokenRevocations } from './client-token-revocations.js';
import type { ServiceClients } from './service-clients.js';
import type { GrantClaims } from './token-issuer.js';

/** RFC 7662 token_type: "Bearer" (RFC 6749 §7.1) for access tokens; refresh tokens have no registered type. */
type IntrospectedType = 'Bearer' | 'refresh_token';

/**
 * RFC 7662's answer: inactive, or active with the token's type and every claim of the contract it carries
 * (@tessera/verify/contract's CLAIM_TYPES), so a service reads the same claims here as from the verifier.
 * A user token's `roles` are the user's roles now, not the token's.
 */
export type Introspection =
  | { active: false }
  | ({ active: true; token_type: IntrospectedType } & Partial<TesseraClaims> &
      Pick<TesseraClaims, 'iss' | 'sub' | 'exp' | 'iat'>);

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

interface Owner {
  userId: string;
  sessionId: string;
}

export class TokenIntrospection {
  constructor(
    private readonly sql: Sql,
    private readonly accessTokens: AccessTokens,
    private readonly refreshTokens: RefreshTokens,
    private readonly lifecycle: SessionLifecycle,
    private readonly clock: Clock,
    private readonly issuer: string,
    /** Client tokens (src/domain/authz/): introspection knows them too. */
    private readonly authz: {
      clientTokens: ClientTokens;
      serviceClients: ServiceClients;
      clientRevocations: ClientTokenRevocations;
    },
    /** Tokens of OAuth grants (src/domain/oauth/): active while their grant's session is live. */
    private readonly grantTokens?: { verifyAccess(token: string): Promise<GrantClaims> },
  ) {}

  async introspect(token: string): Promise<Introspection> {
    if (JWT_SHAPE.test(token)) return this.introspectAccess(token);
    return this.introspectRefresh(token);
  }

  /**
   * Ends the session behind the token. Unknown, invalid or expired tokens are not an error (RFC 7009
   * §2.2): the answer never tells a client whether a token existed. Returns whether a session ended.
   */
  async revoke(token: string, clientId: string, meta: RequestMeta): Promise<boolean> {
    const owner = JWT_SHAPE.test(token) ? await this.accessOwner(token) : this.lifecycle.sessionOf(token);
    if (!owner) return JWT_SHAPE.test(token) ? this.revokeClientToken(token, clientId, meta) : false;
    const ended = await this.lifecycle.end(
      { which: { ids: [owner.sessionId] }, reason: 'revoked_by_client', by: { kind: 'client', clientId } },
      meta,
    );
    return ended.length > 0;
  }

  private async introspectAccess(token: string): Promise<Introspection> {
    const claims = await this.verifiedAccess(token);
    if (!claims) return (await this.introspectGrant(token)) ?? this.introspectClient(token);
    const roles = await this.liveSessionRoles(claims.sub, claims.sid);
    if (!roles) return { active: false };
    const { roles: _tokenRoles, ...rest } = contractClaims(claims);
    return { active: true, token_type: 'Bearer', ...rest, ...(roles.length > 0 ? { roles } : {}) };
  }

  /** A token of an OAuth grant: active while it verifies and its grant (session) is live; null: not one. */
  private async introspectGrant(token: string): Promise<Introspection | null> {
    const claims = await this.verifiedGrant(token);
    if (!claims) return null;
    const roles = await this.liveSessionRoles(claims.sub, claims.sid);
    if (!roles) return { active: false };
    const { iss, sub, sid, aud, exp, iat, jti, client_id, scope, auth_time, amr, acr, idp } = claims;
    return {
      active: true,
      token_type: 'Bearer',
      ...{ iss, sub, sid, aud, exp, iat, jti, client_id, scope },
      ...(auth_time !== undefined ? { auth_time } : {}),
      // How the user signed in to approve the grant (src/domain/sessions/assurance.ts).
      ...(amr !== undefined ? { amr } : {}),
      ...(acr !== undefined ? { acr } : {}),
      ...(idp !== undefined ? { idp } : {}),
      ...(roles.length > 0 ? { roles } : {}),
    };
  }

  private async verifiedGrant(token: string) {
    if (!this.grantTokens) return null;
    try {
      return await this.grantTokens.verifyAccess(token);
    } catch (err) {
      if (err instanceof TokenInvalid) return null;
      throw err;
    }
  }

  /** A client_credentials token: active while it verifies and its client is still configured. */
  private async introspectClient(token: string): Promise<Introspection> {
    let claims: Awaited<ReturnType<ClientTokens['verify']>>;
    try {
      claims = await this.authz.clientTokens.verify(token);
    } catch (err) {
      if (err instanceof TokenInvalid) return { active: false };
      throw err;
    }
    if (!this.authz.serviceClients.get(claims.client_id)) return { active: false };
    return { active: true, token_type: 'Bearer', ...contractClaims(claims) };
  }

  /** A client_credentials token has no session: its jti is denylisted until it expires. */
  private async revokeClientToken(token: string, clientId: string, meta: RequestMeta): Promise<boolean> {
    try {
      const claims = await this.authz.clientTokens.verify(token);
      return await this.authz.clientRevocations.revoke(claims, clientId, meta);
    } catch (err) {
      if (err instanceof TokenInvalid) return false;
      throw err;
    }
  }

  private async introspectRefresh(token: string): Promise<Introspection> {
    const now = this.clock.now();
    const claims = this.refreshTokens.verify(token);
    if (!claims) return { active: false };
    const [row] = await this.sql.query<{ user_id: string; issued_at: Date; expires_at: Date }>(
      `
      SELECT s.user_id::text AS user_id, COALESCE(s.rotated_at, s.created_at) AS issued_at, s.expires_at
      FROM sessions s WHERE s.id = $1::uuid AND s.refresh_counter = $2::bigint AND ${liveSql('s', '$3')}`,
      [claims.sessionId, claims.counter.toString(), now.toISOString()],
    );
    if (!row) return { active: false };
    return {
      active: true,
      token_type: 'refresh_token',
      iss: this.issuer,
      sub: row.user_id,
      sid: claims.sessionId,
      exp: epochSeconds(row.expires_at),
      iat: epochSeconds(row.issued_at),
    };
  }

  private async verifiedAccess(token: string) {
    try {
      return await this.accessTokens.verify(token);
    } catch (err) {
      if (err instanceof TokenInvalid) return null;
      throw err;
    }
  }

  private async accessOwner(token: string): Promise<Owner | null> {
    const claims = (await this.verifiedAccess(token)) ?? (await this.verifiedGrant(token));
    return claims ? { userId: claims.sub, sessionId: claims.sid } : null;
  }

  /** The user's current roles if the session is live, else null: one statement. */
  private async liveSessionRoles(userId: string, sessionId: string): Promise<string[] | null> {
    const [row] = await this.sql.query<{ roles: string | null }>(
      `
      SELECT ${rolesSql('s.user_id')} AS roles
      FROM sessions s WHERE s.id = $1::uuid AND s.user_id = $2::uuid AND ${liveSql('s', '$3')}`,
      [sessionId, userId, this.clock.now().toISOString()],
    );
    if (!row) return null;
    return rolesOf(row.roles);
  }
}
