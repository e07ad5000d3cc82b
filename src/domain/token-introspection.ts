// RFC 7662 introspection and RFC 7009 revocation, for registered service clients.
//
// Access tokens are stateless, so "is this token still good?" means: the signature and claims verify
// AND its session is still live. Revoking either kind of token ends its whole session (the token
// family): an access token can't be revoked alone, and a refresh token alone would leave its siblings.
import type { PrismaClient } from '../generated/prisma/client.js';
import { TokenInvalid, type AccessTokens } from './access-tokens.js';
import { audit, type RequestMeta } from './audit.js';
import type { Clock } from './clock.js';
import { LOCKING_TX } from './transactions.js';
import { endSessions, hashRefreshToken } from './refresh-rotation.js';

/** RFC 7662 token_type: "Bearer" (RFC 6749 §7.1) for access tokens; refresh tokens have no registered type. */
export type IntrospectedType = 'Bearer' | 'refresh_token';

export type Introspection =
  | { active: false }
  | {
      active: true;
      token_type: IntrospectedType;
      iss: string;
      sub: string;
      sid: string;
      exp: number;
      iat: number;
      aud?: string | string[];
      client_id?: string;
      jti?: string;
      auth_time?: number;
    };

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const REFRESH_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

interface Owner {
  userId: string;
  sessionId: string;
}

export class TokenIntrospection {
  constructor(
    private readonly db: PrismaClient,
    private readonly accessTokens: AccessTokens,
    private readonly clock: Clock,
    private readonly issuer: string,
  ) {}

  async introspect(token: string): Promise<Introspection> {
    if (JWT_SHAPE.test(token)) return this.introspectAccess(token);
    if (REFRESH_SHAPE.test(token)) return this.introspectRefresh(token);
    return { active: false };
  }

  /**
   * Ends the session behind the token. Unknown, invalid or expired tokens are not an error (RFC 7009
   * §2.2): the answer never tells a client whether a token existed. Returns whether a session ended.
   */
  async revoke(token: string, clientId: string, meta: RequestMeta): Promise<boolean> {
    const owner = JWT_SHAPE.test(token) ? await this.accessOwner(token) : REFRESH_SHAPE.test(token) ? await this.refreshOwner(token) : null;
    if (!owner) return false;
    const now = this.clock.now();
    return this.db.$transaction(async (tx) => {
      const session = await tx.session.findUnique({ where: { id: owner.sessionId }, select: { revokedAt: true } });
      if (!session || session.revokedAt) return false;
      await endSessions(tx, [owner.sessionId], now, 'revoked_by_client');
      await audit(tx, meta, now, { type: 'token_revoked', userId: owner.userId, sessionId: owner.sessionId, reason: `client ${clientId}` });
      return true;
    }, LOCKING_TX);
  }

  private async introspectAccess(token: string): Promise<Introspection> {
    const claims = await this.verifiedAccess(token);
    if (!claims || !(await this.sessionLive(claims.sub, claims.sid))) return { active: false };
    return {
      active: true,
      token_type: 'Bearer',
      iss: claims.iss,
      sub: claims.sub,
      sid: claims.sid,
      aud: claims.aud,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      ...(claims.client_id !== undefined ? { client_id: claims.client_id } : {}),
      ...(claims.auth_time !== undefined ? { auth_time: claims.auth_time } : {}),
    };
  }

  private async introspectRefresh(token: string): Promise<Introspection> {
    const row = await this.db.refreshToken.findUnique({
      where: { tokenHash: hashRefreshToken(token) },
      select: { spentAt: true, expiresAt: true, issuedAt: true, session: { select: { id: true, userId: true } } },
    });
    const now = this.clock.now();
    if (!row || row.spentAt || row.expiresAt <= now || !(await this.sessionLive(row.session.userId, row.session.id))) return { active: false };
    return {
      active: true,
      token_type: 'refresh_token',
      iss: this.issuer,
      sub: row.session.userId,
      sid: row.session.id,
      exp: seconds(row.expiresAt),
      iat: seconds(row.issuedAt),
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
    const claims = await this.verifiedAccess(token);
    return claims ? { userId: claims.sub, sessionId: claims.sid } : null;
  }

  private async refreshOwner(token: string): Promise<Owner | null> {
    const row = await this.db.refreshToken.findUnique({
      where: { tokenHash: hashRefreshToken(token) },
      select: { session: { select: { id: true, userId: true } } },
    });
    return row ? { userId: row.session.userId, sessionId: row.session.id } : null;
  }

  private async sessionLive(userId: string, sessionId: string): Promise<boolean> {
    const session = await this.db.session.findUnique({ where: { id: sessionId }, select: { userId: true, revokedAt: true, expiresAt: true } });
    return !!session && session.userId === userId && !session.revokedAt && session.expiresAt > this.clock.now();
  }
}
