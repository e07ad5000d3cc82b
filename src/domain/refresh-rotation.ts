// Sessions and their refresh tokens: start, rotate, revoke.
//
// A session is a family of refresh tokens descending from one login. Each refresh spends the
// presented token and issues its child. Presenting a spent token again is treated as theft:
// the whole session is revoked (every token in it, the newest included), and that revocation is
// committed even though the request fails.
//
// One exception, for browser tabs that refresh at the same moment: a token spent less than
// `reuseGraceSeconds` ago whose successor has not been used yet may be exchanged again; it gets a
// sibling of that successor. As soon as any token of the session is used, every other live token
// in it is spent, so outside that window a session has exactly one live refresh token.
//
// Every rotation locks its session row first (SELECT … FOR UPDATE), which serialises concurrent
// refreshes of one family across requests and across instances sharing the database.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { PrismaClient, Prisma } from '../generated/prisma/client.js';
import { audit, clipUserAgent, type RequestMeta } from './audit.js';
import type { Clock } from './clock.js';
import { LOCKING_TX } from './transactions.js';

const TOKEN_BYTES = 32; // 256 bits
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface RotationSettings {
  refreshTokenTtlSeconds: number;
  reuseGraceSeconds: number;
  /** Absolute session lifetime from login; no refresh extends a session past it. */
  sessionMaxAgeSeconds: number;
  /** A session that has not been refreshed for this long is over. */
  sessionIdleSeconds: number;
}

/** When a session ends if nothing else happens: the earliest of the three limits. */
export function sessionDeadline(settings: RotationSettings, createdAt: Date, lastUsedAt: Date): Date {
  return new Date(Math.min(
    lastUsedAt.getTime() + settings.refreshTokenTtlSeconds * 1000,
    lastUsedAt.getTime() + settings.sessionIdleSeconds * 1000,
    createdAt.getTime() + settings.sessionMaxAgeSeconds * 1000,
  ));
}

/** What a successful login or refresh hands back to the HTTP layer. */
export interface IssuedSession {
  userId: string;
  sessionId: string;
  sessionStartedAt: Date;
  refreshToken: string;
  refreshExpiresAt: Date;
}

export type RotationFailure = 'invalid' | 'expired' | 'revoked' | 'reused' | 'credentials_changed';

export class RotationError extends Error {
  override name = 'RotationError';
  constructor(
    readonly failure: RotationFailure,
    readonly sessionId?: string,
  ) {
    super(failure);
  }
}

type Tx = Prisma.TransactionClient;

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export class RefreshRotation {
  constructor(
    private readonly db: PrismaClient,
    private readonly settings: RotationSettings,
    private readonly clock: Clock,
  ) {}

  /**
   * Starts a new session (token family) for a user who just proved who they are with the password whose
   * hash is `verifiedHash`. The hash is re-read under a share lock: if the password changed since it was
   * checked, no session starts (a password change ends every other session, including one a login with
   * the old password was about to create). Throws RotationError('credentials_changed') then.
   */
  async start(userId: string, meta: RequestMeta, verifiedHash: string): Promise<IssuedSession> {
    const now = this.clock.now();
    const expiresAt = sessionDeadline(this.settings, now, now);
    const sessionId = randomUUID();
    const { token, hash } = newRefreshToken();
    await this.db.$transaction(async (tx) => {
      const [current] = await tx.$queryRaw<{ password_hash: string }[]>`SELECT password_hash FROM users WHERE id = ${userId}::uuid FOR SHARE`;
      if (!current || current.password_hash !== verifiedHash) throw new RotationError('credentials_changed');
      await tx.session.create({
        data: {
          id: sessionId, userId, createdAt: now, lastUsedAt: now, expiresAt,
          userAgent: clipUserAgent(meta.userAgent), ip: meta.ip,
        },
      });
      await tx.refreshToken.create({ data: { id: randomUUID(), sessionId, tokenHash: hash, issuedAt: now, expiresAt } });
      await audit(tx, meta, now, { type: 'login_ok', userId, sessionId });
    }, LOCKING_TX);
    return { userId, sessionId, sessionStartedAt: now, refreshToken: token, refreshExpiresAt: expiresAt };
  }

  /** Exchanges a refresh token for its successor; throws RotationError (after committing any revocation). */
  async rotate(presented: string, meta: RequestMeta): Promise<IssuedSession> {
    if (!TOKEN_SHAPE.test(presented)) throw new RotationError('invalid');
    const tokenHash = hashRefreshToken(presented);
    const now = this.clock.now();
    const outcome = await this.db.$transaction((tx) => this.rotateIn(tx, tokenHash, now, meta), LOCKING_TX);
    if ('failure' in outcome) throw new RotationError(outcome.failure, outcome.sessionId);
    return outcome;
  }

  private async rotateIn(tx: Tx, tokenHash: string, now: Date, meta: RequestMeta): Promise<IssuedSession | { failure: RotationFailure; sessionId?: string }> {
    // Find the token and lock its session in one round trip (this is the hot path).
    const [found] = await tx.$queryRaw<{ id: string }[]>`
      SELECT r.id::text AS id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
      WHERE r.token_hash = ${tokenHash} FOR UPDATE OF s`;
    if (!found) return { failure: 'invalid' };
    // Read under the lock: a concurrent rotation may have spent the token meanwhile.
    const token = await tx.refreshToken.findUniqueOrThrow({
      where: { id: found.id },
      include: { session: true, children: { select: { spentAt: true } } },
    });
    const { session } = token;
    if (session.revokedAt) return { failure: 'revoked', sessionId: session.id };
    // The stored expiry, and the limits recomputed (a lowered SESSION_MAX_AGE applies to old sessions too).
    const deadline = sessionDeadline(this.settings, session.createdAt, session.lastUsedAt);
    if (token.expiresAt <= now || session.expiresAt <= now || deadline <= now) return { failure: 'expired', sessionId: session.id };

    if (token.spentAt === null) {
      // Spend this token and any sibling handed out in a grace window: one live token per session.
      await tx.refreshToken.updateMany({ where: { sessionId: session.id, spentAt: null }, data: { spentAt: now } });
      return this.issueChild(tx, token.id, session, now, meta, null);
    }

    const graceMs = this.settings.reuseGraceSeconds * 1000;
    const successorUnused = token.children.length > 0 && token.children.every((c) => c.spentAt === null);
    if (graceMs > 0 && now.getTime() - token.spentAt.getTime() < graceMs && successorUnused) {
      return this.issueChild(tx, token.id, session, now, meta, 'grace');
    }

    // Reuse of a spent token: end the whole family. The caller commits this, then fails the request.
    await tx.session.update({ where: { id: session.id }, data: { revokedAt: now, revokedReason: 'refresh_token_reused' } });
    await tx.refreshToken.updateMany({ where: { sessionId: session.id, spentAt: null }, data: { spentAt: now } });
    await audit(tx, meta, now, { type: 'refresh_reuse_detected', userId: session.userId, sessionId: session.id });
    return { failure: 'reused', sessionId: session.id };
  }

  private async issueChild(
    tx: Tx,
    parentId: string,
    session: { id: string; userId: string; createdAt: Date },
    now: Date,
    meta: RequestMeta,
    reason: string | null,
  ): Promise<IssuedSession> {
    const expiresAt = sessionDeadline(this.settings, session.createdAt, now);
    const { token, hash } = newRefreshToken();
    await tx.refreshToken.create({ data: { id: randomUUID(), sessionId: session.id, parentId, tokenHash: hash, issuedAt: now, expiresAt } });
    await tx.session.update({ where: { id: session.id }, data: { lastUsedAt: now, expiresAt } });
    await audit(tx, meta, now, { type: 'refresh', userId: session.userId, sessionId: session.id, reason });
    return { userId: session.userId, sessionId: session.id, sessionStartedAt: session.createdAt, refreshToken: token, refreshExpiresAt: expiresAt };
  }

  /** Ends the session a refresh token belongs to. Unknown, malformed or already-ended: nothing to do. */
  async logout(presented: string, meta: RequestMeta): Promise<void> {
    if (!TOKEN_SHAPE.test(presented)) return;
    const found = await this.db.refreshToken.findUnique({ where: { tokenHash: hashRefreshToken(presented) }, select: { sessionId: true } });
    if (!found) return;
    const now = this.clock.now();
    await this.db.$transaction(async (tx) => {
      await lockSession(tx, found.sessionId);
      const session = await tx.session.findUniqueOrThrow({ where: { id: found.sessionId } });
      if (session.revokedAt) return;
      await revokeSessions(tx, [session.id], now, 'logout');
      await audit(tx, meta, now, { type: 'logout', userId: session.userId, sessionId: session.id });
    }, LOCKING_TX);
  }

  /** Ends every live session of a user. Returns how many were ended. */
  async logoutAll(userId: string, meta: RequestMeta, fromSessionId?: string): Promise<number> {
    const now = this.clock.now();
    return this.db.$transaction(async (tx) => {
      const live = await tx.session.findMany({ where: { userId, revokedAt: null }, select: { id: true }, orderBy: { id: 'asc' } });
      const ids = live.map((s) => s.id);
      for (const id of ids) await lockSession(tx, id); // in id order, so two logout-alls can't deadlock
      await revokeSessions(tx, ids, now, 'logout_all');
      await audit(tx, meta, now, { type: 'logout_all', userId, sessionId: fromSessionId ?? null, reason: `${ids.length} sessions` });
      return ids.length;
    }, LOCKING_TX);
  }

}

/** Ends sessions and spends their live tokens, locking them in id order (no deadlock with a concurrent end). */
export async function endSessions(tx: Tx, ids: string[], now: Date, reason: string): Promise<void> {
  const sorted = [...ids].sort();
  for (const id of sorted) await lockSession(tx, id);
  await revokeSessions(tx, sorted, now, reason);
}

async function lockSession(tx: Tx, sessionId: string): Promise<void> {
  await tx.$queryRaw`SELECT id FROM sessions WHERE id = ${sessionId}::uuid FOR UPDATE`;
}

async function revokeSessions(tx: Tx, ids: string[], now: Date, reason: string): Promise<void> {
  if (ids.length === 0) return;
  await tx.session.updateMany({ where: { id: { in: ids }, revokedAt: null }, data: { revokedAt: now, revokedReason: reason } });
  await tx.refreshToken.updateMany({ where: { sessionId: { in: ids }, spentAt: null }, data: { spentAt: now } });
}
